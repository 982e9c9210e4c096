# The demo's two images from static binaries compiled on the host: the same images as
# docker/Dockerfile builds, for a machine that has cargo but cannot fetch a Rust builder image.
# The build context is a folder holding just `sum-service` and `driver` (setup_script.sh
# prepares it).

FROM scratch AS sum-service
COPY sum-service /usr/local/bin/sum-service
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sum-service"]

FROM scratch AS circuitbreaker
ENV PATH=/usr/local/bin
COPY driver /usr/local/bin/driver
USER 65532:65532
CMD ["driver", "8080"]
