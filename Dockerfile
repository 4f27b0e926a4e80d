# byok in a container: `docker build -t byok .`, then
#   docker run -d -p 8018:8018 -v byok-home:/data -e BYOK_CLIENT_KEY="$(openssl rand -hex 24)" byok
# Sign in once inside the volume (device code: no browser needed in a container):
#   docker run --rm -it -v byok-home:/data byok login --device
# The server listens on 0.0.0.0 inside the container, so a client key is required (byok refuses
# to serve a non-loopback address without one).

# --- build -------------------------------------------------------------------------------------
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
# --locked: the versions in Cargo.lock, as tested.
RUN cargo build --release --locked -p byok && cp target/release/byok /usr/local/bin/byok

# --- run ---------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# byok carries its own TLS roots (webpki-roots); nothing else is needed at run time.
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin byok \
    && mkdir -p /data && chown byok:byok /data
COPY --from=build /usr/local/bin/byok /usr/local/bin/byok
USER byok
# credentials.json (mode 0600), ratelimits.json, byok.toml and the other state live here.
ENV BYOK_HOME=/data \
    BYOK_HOST=0.0.0.0 \
    BYOK_PORT=8018
VOLUME ["/data"]
EXPOSE 8018
ENTRYPOINT ["byok"]
CMD ["serve"]
