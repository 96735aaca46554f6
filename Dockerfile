# A static, non-root image whose entrypoint is /adapter, like the reference image (the helm
# chart's args begin with /adapter, which the binary ignores as a positional argument).
#
#   docker build -t prometheus-adapter .
#
# Build stage: Alpine's Rust links against musl, so the binary is fully static.
FROM rust:1.95-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY config ./config
COPY benches ./benches
COPY examples ./examples
COPY tests ./tests
RUN cargo build --release --locked --bin prometheus-adapter \
 && cp target/release/prometheus-adapter /adapter

# Run stage: distroless static (CA certificates for an HTTPS Prometheus, no shell), running as
# nobody (65534) as the reference image does.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /adapter /adapter
USER 65534:65534
ENTRYPOINT ["/adapter"]
