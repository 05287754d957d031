//! The TCP socket under a `ws://` WebSocket: small reads while messages trickle in, and one
//! large read shared by many small ones while data streams in.
//!
//! tungstenite reads `Config::read_buffer_bytes` at a time into the buffer it keeps for the
//! connection's life, so that size is both what every idle connection holds (W4 in
//! BENCHMARKS.md) and how much one system call can bring in. Here they are decoupled: when a
//! read fills tungstenite's request, more is probably queued, so the next read takes up to
//! [`BURST_BYTES`] into a buffer of its own, hands it over piece by piece, and frees it once it
//! is drained. An idle connection keeps nothing here.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Most bytes one system call reads while data streams in.
const BURST_BYTES: usize = 16 * 1024;

/// A TCP stream read in bursts while data streams in (see the module docs).
#[derive(Debug)]
pub(crate) struct BurstReader {
    tcp: TcpStream,
    /// Read and not yet handed over; `None` (nothing allocated) when there is none.
    ahead: Option<ReadAhead>,
    /// The last system call filled what it was given: more is probably queued.
    streaming: bool,
}

#[derive(Debug)]
struct ReadAhead {
    bytes: Vec<u8>,
    handed: usize,
}

impl BurstReader {
    /// Wraps a connected socket.
    pub(crate) fn new(tcp: TcpStream) -> Self {
        Self { tcp, ahead: None, streaming: false }
    }
}

impl AsyncRead for BurstReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(ahead) = &mut this.ahead {
            let rest = ahead.bytes.get(ahead.handed..).unwrap_or_default();
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            ahead.handed += n;
            if ahead.handed >= ahead.bytes.len() {
                this.ahead = None;
            }
            return Poll::Ready(Ok(()));
        }
        let wanted = buf.remaining();
        if !this.streaming || wanted == 0 || wanted >= BURST_BYTES {
            // Trickling: straight into the caller's buffer, no copy and no allocation.
            ready!(Pin::new(&mut this.tcp).poll_read(cx, buf))?;
            this.streaming = wanted > 0 && buf.remaining() == 0;
            return Poll::Ready(Ok(()));
        }
        loop {
            ready!(this.tcp.poll_read_ready(cx))?;
            let mut bytes = Vec::with_capacity(BURST_BYTES);
            match this.tcp.try_read_buf(&mut bytes) {
                Ok(read) => {
                    let n = read.min(wanted);
                    buf.put_slice(&bytes[..n]);
                    this.streaming = read == BURST_BYTES;
                    if n < read {
                        this.ahead = Some(ReadAhead { bytes, handed: n });
                    }
                    return Poll::Ready(Ok(()));
                }
                // The readiness was stale; polling it again registers for the next.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for BurstReader {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    async fn pair() -> io::Result<(BurstReader, TcpStream)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        Ok((BurstReader::new(client), server))
    }

    #[tokio::test]
    async fn a_stream_arrives_whole_and_in_order_through_small_reads() -> io::Result<()> {
        let (mut reader, mut server) = pair().await?;
        let sent: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let writer = {
            let sent = sent.clone();
            tokio::spawn(async move {
                server.write_all(&sent).await?;
                server.shutdown().await
            })
        };
        let mut received = Vec::new();
        let mut chunk = [0u8; 1000];
        let mut bursts = 0;
        loop {
            let n = reader.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            bursts += usize::from(reader.ahead.is_some());
            received.extend_from_slice(&chunk[..n]);
        }
        writer.await.map_err(io::Error::other)??;
        assert_eq!(received, sent);
        assert!(bursts > 0, "a stream is read in bursts");
        assert!(reader.ahead.is_none(), "nothing kept once drained");
        Ok(())
    }

    #[tokio::test]
    async fn a_trickle_is_read_straight_into_the_callers_buffer() -> io::Result<()> {
        let (mut reader, mut server) = pair().await?;
        let mut chunk = [0u8; 1000];
        for message in [&b"one"[..], b"two", b"three"] {
            server.write_all(message).await?;
            let n = reader.read(&mut chunk).await?;
            assert_eq!(&chunk[..n], message);
            assert!(reader.ahead.is_none() && !reader.streaming);
        }
        Ok(())
    }
}
