#!/usr/bin/env bash
# The demo in Docker: builds the images `sum-service` and `circuitbreaker`, then runs the sum
# service on port 8080 with its log in this terminal. In another terminal:
#
#   docker run -t --net=host circuitbreaker driver 8080
#
# (`docker run --net=host circuitbreaker python-free driver 8080` and the original demo's
# `docker run -t --net=host circuitbreaker:latest python main.py 8080` give the same demo.)
#
# Options:
#   --detach        run the service in the background (for scripts); `--stop` removes it
#   --stop          stop and remove the service's container, then exit
#   --port N        the port the service listens on (default 8080)
#   --host-build    build the images from static binaries compiled here with cargo
#   --source-build  build inside Docker from docker/Dockerfile (needs the Rust builder image,
#                   or a registry to pull it from)
# Without --host-build or --source-build, the script builds from source when the builder image
# is already here, from host binaries when cargo is, and from source (pulling) otherwise.
# With no Docker engine it says so and runs the same demo natively with cargo.
set -euo pipefail
cd "$(dirname "$0")"

rust_version=1.95
builder_image="rust:${rust_version}-slim-bookworm"
container=sum-service
port=8080
mode=foreground
build=auto

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --detach) mode=detach ;;
    --stop) mode=stop ;;
    --port)
      [ $# -ge 2 ] || { echo "setup_script.sh: --port needs a number" >&2; exit 2; }
      port="$2"
      shift
      ;;
    --host-build) build=host ;;
    --source-build) build=source ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup_script.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$port" in
  '' | *[!0-9]*) echo "setup_script.sh: --port needs a number, not '$port'" >&2; exit 2 ;;
esac

if ! docker info >/dev/null 2>&1; then
  if [ "$mode" = stop ]; then
    exit 0
  fi
  echo "No Docker engine answers here (is Docker installed and running?)." >&2
  echo "Running the same demo natively with cargo instead: the service and the driver in one go." >&2
  PORT="$port" exec bash scripts/demo.sh
fi

if [ "$mode" = stop ]; then
  docker rm -f "$container" >/dev/null 2>&1 || true
  echo "Stopped $container."
  exit 0
fi

if [ "$build" = auto ]; then
  if docker image inspect "$builder_image" >/dev/null 2>&1; then
    build=source
  elif command -v cargo >/dev/null 2>&1; then
    build=host
  else
    build=source
  fi
fi

case "$build" in
  source)
    echo "Building the images from source with $builder_image ..."
    for image in sum-service circuitbreaker; do
      docker build -f docker/Dockerfile --build-arg "RUST_VERSION=$rust_version" \
        --target "$image" -t "$image" .
    done
    ;;
  host)
    echo "Building static binaries with cargo, then the images from them ..."
    target="$(rustc -vV | sed -n 's/^host: //p')"
    RUSTFLAGS="-C target-feature=+crt-static" \
      cargo build --release --locked --target "$target" -p sum-service -p driver
    context=target/docker-context
    rm -rf "$context"
    mkdir -p "$context"
    cp "target/$target/release/sum-service" "target/$target/release/driver" "$context/"
    for image in sum-service circuitbreaker; do
      docker build -f docker/host.Dockerfile --target "$image" -t "$image" "$context"
    done
    ;;
esac
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' sum-service
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' circuitbreaker

docker rm -f "$container" >/dev/null 2>&1 || true
if [ "$mode" = detach ]; then
  docker run -d --name "$container" --net=host sum-service --port "$port" >/dev/null
  echo "sum-service runs in the background on port $port; 'bash setup_script.sh --stop' removes it."
  echo "Now: docker run -t --net=host circuitbreaker driver $port"
else
  echo "Starting sum-service on port $port (Ctrl-C stops it)."
  echo "In another terminal: docker run -t --net=host circuitbreaker driver $port"
  exec docker run --rm -t --name "$container" --net=host sum-service --port "$port"
fi
