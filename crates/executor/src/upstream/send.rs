//! One POST to an upstream: sent, timed, its rate-limit headers recorded, failures classified,
//! retried as the policy says.

use byok_types::{ByokError, Metrics, ProviderId, ProviderLabels, Result, UpstreamLabels};
use bytes::Bytes;
use hyper::header::HeaderMap;

use super::{Upstream, UpstreamResponse};
use crate::stream::broken;
use crate::upstream_error::upstream_error;

/// The most of an error body byok keeps for the client.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Who a request is sent as, for the rate-limit store and the logs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sender<'a> {
    pub(crate) provider: ProviderId,
    pub(crate) account: &'a str,
}

impl Upstream {
    /// POSTs `body` (JSON) to `url`, tried again as the retry policy says.
    pub(crate) async fn post(
        &self,
        url: &str,
        headers: &HeaderMap,
        body: &Bytes,
        sender: Sender<'_>,
    ) -> Result<UpstreamResponse> {
        self.post_then(url, headers, body, sender, |response| async {
            Ok(response)
        })
        .await
    }

    /// POSTs `body` (JSON) to `url` and hands a 2xx answer to `then`, the two tried again
    /// together as the retry policy says: a failure `then` finds in the answer (one the
    /// backend reports inside a 200 stream) is retried like the same failure over HTTP.
    pub(crate) async fn post_then<T, F, Fut>(
        &self,
        url: &str,
        headers: &HeaderMap,
        body: &Bytes,
        sender: Sender<'_>,
        then: F,
    ) -> Result<T>
    where
        F: Fn(UpstreamResponse) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut tries = 0_u32;
        self.retry
            .run(|| {
                tries += 1;
                if tries > 1 {
                    self.count(|m| {
                        m.upstream_retries
                            .get_or_create(&ProviderLabels {
                                provider: sender.provider.as_str().to_owned(),
                            })
                            .inc();
                    });
                }
                async {
                    let response = self
                        .post_once(url, headers.clone(), body.clone(), sender)
                        .await?;
                    let answer = then(response).await;
                    if let Err(err) = &answer {
                        // A failure the backend reported inside its 200 stream.
                        self.count_failure(sender, err.status());
                    }
                    answer
                }
            })
            .await
    }

    /// Counts a failed try: its status, 0 when no answer came.
    fn count_failure(&self, sender: Sender<'_>, status: u16) {
        self.count(|m| {
            m.upstream_errors
                .get_or_create(&UpstreamLabels {
                    provider: sender.provider.as_str().to_owned(),
                    status,
                })
                .inc();
        });
    }

    fn count(&self, record: impl FnOnce(&Metrics)) {
        if let Some(metrics) = &self.metrics {
            record(metrics);
        }
    }

    /// POSTs `body` (JSON) to `url` once. `Ok` only for a 2xx answer, whose body is not read
    /// yet; the answer's head must come within the idle timeout.
    async fn post_once(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
        sender: Sender<'_>,
    ) -> Result<UpstreamResponse> {
        let request = self.http.transport().post_json(url, headers, body);
        let response = match tokio::time::timeout(self.idle_timeout, request).await {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => {
                self.count_failure(sender, 0);
                return Err(err);
            }
            Err(_) => {
                self.count_failure(sender, 0);
                return Err(ByokError::Timeout(format!(
                    "the upstream did not answer within {} ms",
                    self.idle_timeout.as_millis()
                )));
            }
        };
        let status = response.status().as_u16();
        tracing::debug!(provider = %sender.provider, account = sender.account, status, "upstream answer");
        if let Some(store) = &self.ratelimit {
            store.record(
                sender.provider,
                sender.account,
                response
                    .headers()
                    .iter()
                    .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))),
            );
        }
        if response.status().is_success() {
            return Ok(response);
        }
        self.count_failure(sender, status);
        let headers = response.headers().clone();
        let body = self.read_error_body(response).await;
        Err(upstream_error(status, &headers, body))
    }

    /// A failed answer's body, as text, cut at [`MAX_ERROR_BODY`]; empty if it does not come.
    async fn read_error_body(&self, response: UpstreamResponse) -> String {
        match tokio::time::timeout(self.idle_timeout, response.bytes()).await {
            Ok(Ok(bytes)) => {
                let bytes = &bytes[..bytes.len().min(MAX_ERROR_BODY)];
                String::from_utf8_lossy(bytes).into_owned()
            }
            _ => String::new(),
        }
    }

    /// GETs `url` and reads its JSON answer (with the answer's headers), tried again as the
    /// retry policy says; a non-2xx answer is the error it stands for.
    pub(crate) async fn get_json(
        &self,
        url: &str,
        headers: &HeaderMap,
    ) -> Result<(HeaderMap, serde_json::Value)> {
        self.retry
            .run(|| async {
                let request = self.http.transport().get(url, headers.clone());
                let response = match tokio::time::timeout(self.idle_timeout, request).await {
                    Ok(answer) => answer?,
                    Err(_) => {
                        return Err(ByokError::Timeout(format!(
                            "the upstream did not answer within {} ms",
                            self.idle_timeout.as_millis()
                        )));
                    }
                };
                let head = response.headers().clone();
                if !response.status().is_success() {
                    let status = response.status().as_u16();
                    let body = self.read_error_body(response).await;
                    return Err(upstream_error(status, &head, body));
                }
                Ok((head, self.read_json(response).await?))
            })
            .await
    }

    /// The whole body of a 2xx answer that is not a stream, as JSON.
    pub(crate) async fn read_json(&self, response: UpstreamResponse) -> Result<serde_json::Value> {
        let bytes = match tokio::time::timeout(self.idle_timeout, response.bytes()).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(err)) => return Err(broken(&err)),
            Err(_) => return Err(crate::stream::idle_timeout(self.idle_timeout)),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            ByokError::BadGateway(format!("the upstream's answer is not valid JSON: {e}"))
        })
    }
}
