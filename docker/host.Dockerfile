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
COPY driver /usr/local/bin/driver
USER 65532:65532
# The driver is the entrypoint, so a command line is its arguments: it skips the leading words
# of `driver 8080`, `python-free driver 8080` and the original demo's `python main.py 8080`
# (there is no Python, nor any shell, in the image).
ENTRYPOINT ["/usr/local/bin/driver"]
CMD ["driver", "8080"]
