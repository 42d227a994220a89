# syntax=docker/dockerfile:1
# The logarchive image: static ingest and validate on distroless static (CA certificates, /etc/passwd,
# user 65532 "nonroot", no shell). The same image without a Docker daemon: `make image` (deploy/image).
#
#   docker buildx build --platform linux/arm64,linux/amd64 -t <registry>/logarchive:<tag> --push .
#
# Build stage runs on the builder's own platform and cross-compiles (no emulation): TARGETOS and
# TARGETARCH are set by buildx from --platform; pass them as --build-arg with plain `docker build`.
ARG GO_VERSION=1.26
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH=arm64
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Flags kept equal to deploy/image BuildFlags.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags='-s -w' -o /out/ ./cmd/ingest ./cmd/validate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ingest /out/validate /
USER 65532:65532
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
EXPOSE 9090
# The ECS task definition overrides nothing but the command (run); validate runs with
# --entrypoint /validate.
ENTRYPOINT ["/ingest"]
CMD ["run"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/ingest", "healthcheck"]
