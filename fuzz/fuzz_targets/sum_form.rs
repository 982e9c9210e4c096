//! Any bytes as a form body: `sum_form` never panics, and sums exactly when the model of the
//! spec (`tests/support/model.rs` of sum-service, shared with its property tests) does, to the
//! same sum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sum_service::sum::sum_form;

#[path = "../../crates/sum-service/tests/support/model.rs"]
mod model;

fuzz_target!(|body: &[u8]| {
    assert_eq!(
        sum_form(body).ok(),
        model::form_model(body),
        "{:?}",
        String::from_utf8_lossy(body)
    );
});
