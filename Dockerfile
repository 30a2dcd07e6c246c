# syntax=docker/dockerfile:1
# Latch's container image, used by quickstart*.yml:
#   docker build -t latch:local .
# Build stage: the release binary, with cargo's caches kept between builds.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p latch \
    && install -m 0755 target/release/latch /usr/local/bin/latch

# Runtime base: glibc, CA certificates and nothing else; no shell, no package manager.
# The `nonroot` user (uid 65532) runs it.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime-base
USER nonroot:nonroot
WORKDIR /home/nonroot
# 4444 public API, 4445 admin API, 5555 `latch token user`, 3000 `latch example login-consent`.
EXPOSE 4444 4445 5555 3000
# Outside a container Latch listens on loopback unless told otherwise (Hydra: every
# interface); inside one, loopback is unreachable and publishing a port is where the
# exposure is decided, so the image listens on every interface, as Hydra's does.
ENV SERVE_PUBLIC_HOST=0.0.0.0 SERVE_ADMIN_HOST=0.0.0.0
ENTRYPOINT ["latch"]
CMD ["serve", "all"]

# Alternative target `prebuilt`: the same runtime with a binary built on the host for
# Debian bookworm's glibc and copied to .container/latch (scripts/container-test does this
# in CI, where a release build inside the image would not fit CI's time; compose picks
# it with LATCH_IMAGE_TARGET=prebuilt). Not for users: the default target is below.
FROM runtime-base AS prebuilt
COPY .container/latch /usr/local/bin/latch

# The image users run (the default target): the release binary from the build stage.
FROM runtime-base AS runtime
COPY --from=build /usr/local/bin/latch /usr/local/bin/latch
