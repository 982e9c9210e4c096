//! The routes: what answers, and what a wrong path or method gets.

use crate::support::{TestApp, status_and_text};

#[actix_web::test]
async fn root_is_the_original_health_check() {
    let app = TestApp::spawn();
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        status_and_text(response).await,
        (200, "Number summator healthy.".into())
    );
    app.stop().await;
}

#[actix_web::test]
async fn health_is_json() {
    let app = TestApp::spawn();
    let response = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        status_and_text(response).await,
        (200, r#"{"status":"ok"}"#.into())
    );
    app.stop().await;
}

#[actix_web::test]
async fn head_works_where_get_does() {
    let app = TestApp::spawn();
    for path in ["/", "/health", "/metrics"] {
        let response = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(
            status_and_text(response).await,
            (200, String::new()),
            "{path}"
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn unknown_paths_are_404() {
    let app = TestApp::spawn();
    for path in ["/nope", "/sum/", "/sum/1", "/health/x"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            status_and_text(response).await,
            (404, "Not Found".into()),
            "GET {path}"
        );
    }
    let response = app
        .client
        .post(app.url("/nope"))
        .form(&[("value1", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_and_text(response).await,
        (404, "Not Found".into()),
        "POST /nope"
    );
    app.stop().await;
}

#[actix_web::test]
async fn wrong_methods_are_405() {
    let app = TestApp::spawn();
    let cases = [
        (reqwest::Method::GET, "/sum", "POST"),
        (reqwest::Method::PUT, "/sum", "POST"),
        (reqwest::Method::DELETE, "/sum", "POST"),
        (reqwest::Method::POST, "/", "GET, HEAD"),
        (reqwest::Method::POST, "/health", "GET, HEAD"),
        (reqwest::Method::OPTIONS, "/", "GET, HEAD"),
        (reqwest::Method::POST, "/metrics", "GET, HEAD"),
        (reqwest::Method::DELETE, "/metrics", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        assert_eq!(
            status_and_text(response).await,
            (405, "Method Not Allowed".into()),
            "{method} {path}"
        );
    }
    app.stop().await;
}
