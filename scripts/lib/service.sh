# Shared by the scripts that start servers: a free loopback port, a tool from Debian's packages
# installed if absent, waiting for a port, redis-server and the sum service started in the
# background, the service's memory and metrics. Sourced, not run.

# A free TCP port on 127.0.0.1, as the kernel hands one out.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# need TOOL PACKAGE: installs PACKAGE with apt-get when TOOL is absent (as root), or says how.
# The package lists are read once per shell.
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    if [ -z "${APT_LISTS_READ:-}" ]; then
      apt-get update -qq
      APT_LISTS_READ=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
  else
    echo "$1 is required: install Debian's package $2 (apt-get install $2)" >&2
    return 1
  fi
}

# wait_port PID PORT NAME [LOG]: waits (at most 10 s) until something listens on
# 127.0.0.1:PORT; fails, showing LOG, if process PID ended first.
wait_port() {
  for _ in $(seq 100); do
    if ! kill -0 "$1" 2>/dev/null; then
      echo "$3 did not start (is port $2 in use?)" >&2
      [ -z "${4:-}" ] || cat "$4" >&2
      return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "$3 did not answer on port $2 within 10 s" >&2
  return 1
}

# start_redis PORT DIR: redis-server on 127.0.0.1:PORT in the background, saving nothing, its log
# in DIR/redis.log; sets REDIS_PID once it listens.
start_redis() {
  redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$2" >"$2/redis.log" 2>&1 &
  REDIS_PID=$!
  wait_port "$REDIS_PID" "$1" redis-server "$2/redis.log" || {
    kill "$REDIS_PID" 2>/dev/null
    return 1
  }
}

# start_service LOG: starts target/release/sum-service on a free loopback port with its request
# log in LOG; sets SERVICE_PID and SERVICE_PORT, and waits (at most 10 s) until it answers.
start_service() {
  SERVICE_PORT=$(free_port)
  target/release/sum-service --host 127.0.0.1 --port "$SERVICE_PORT" >"$1" 2>&1 &
  SERVICE_PID=$!
  trap stop_service EXIT
  trap 'exit 130' INT TERM
  wait_port "$SERVICE_PID" "$SERVICE_PORT" sum-service "$1"
}

stop_service() {
  if [ -n "${SERVICE_PID:-}" ] && kill -0 "$SERVICE_PID" 2>/dev/null; then
    kill -TERM "$SERVICE_PID" 2>/dev/null || true
    wait "$SERVICE_PID" 2>/dev/null || true
  fi
}

# rss_kib FIELD: the service's VmRSS (resident now) or VmHWM (the peak), in KiB.
rss_kib() {
  awk -v f="$1:" '$1 == f { print $2 }' "/proc/$SERVICE_PID/status"
}

# metric NAME: the value of one metric of the service's GET /metrics (0 if absent).
metric() {
  curl -s "http://127.0.0.1:$SERVICE_PORT/metrics" |
    awk -v n="$1" '$1 == n { v = $2 } END { print (v == "" ? 0 : v) }'
}
