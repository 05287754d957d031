//! A TCP stream that lets the HTTP upgrade read the server's response and not one byte more, so
//! that the socket can then be handed to a WebSocket with a read buffer of our size.
//!
//! Why: tungstenite's client handshake reads in 4 KiB chunks and keeps its 4 KiB buffer, with
//! whatever followed the response, as the WebSocket's read buffer, whatever size the config asks
//! for. Handing the handshake only the response head leaves nothing behind in that buffer, so
//! the WebSocket can be built afresh on the bare socket (`WebSocketStream::from_raw_socket`) with
//! `Config::read_buffer_bytes` (W4 in BENCHMARKS.md: memory per idle connection).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP stream during the upgrade: reads stop at the end of the response head.
#[derive(Debug)]
pub(crate) struct UpgradeStream {
    tcp: TcpStream,
    head: HeadEnd,
}

impl UpgradeStream {
    /// Wraps a connected socket before the upgrade request is written.
    pub(crate) fn new(tcp: TcpStream) -> Self {
        Self { tcp, head: HeadEnd::Start }
    }

    /// The socket, once the handshake is done: its next byte is the first after the head.
    pub(crate) fn into_inner(self) -> TcpStream {
        self.tcp
    }
}

/// Where a scan of an HTTP/1.1 head is. The head ends with an empty line; like httparse (which
/// tungstenite parses the response with), a line may end with CRLF or a bare LF, and empty lines
/// before the status line are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadEnd {
    /// Nothing but line breaks yet.
    Start,
    /// Inside a line.
    Line,
    /// Just after a line feed.
    Lf,
    /// Just after a line feed and a carriage return.
    LfCr,
    /// The head is complete.
    Done,
}

impl HeadEnd {
    /// Scans `bytes`; returns how many belong to the head (all, unless it ends among them).
    fn scan(&mut self, bytes: &[u8]) -> usize {
        for (i, &byte) in bytes.iter().enumerate() {
            *self = match (*self, byte) {
                (Self::Done, _) => return i,
                (Self::Start, b'\r' | b'\n') => Self::Start,
                (Self::Lf, b'\r') => Self::LfCr,
                (Self::Lf | Self::LfCr, b'\n') => Self::Done,
                (_, b'\n') => Self::Lf,
                _ => Self::Line,
            };
        }
        bytes.len()
    }
}

impl AsyncRead for UpgradeStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.head == HeadEnd::Done {
            // What follows the head belongs to the WebSocket; a handshake that still wants to
            // read has not understood the response, and is told so rather than given the frames.
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the upgrade response did not end where its head did",
            )));
        }
        // Look first, then take only the head's bytes: the rest stays queued in the socket.
        let start = buf.filled().len();
        let peeked = ready!(this.tcp.poll_peek(cx, buf))?;
        let mut scan = this.head;
        let wanted = scan.scan(&buf.filled()[start..start + peeked]);
        buf.set_filled(start);
        if wanted == 0 {
            return Poll::Ready(Ok(())); // end of stream
        }
        let target = buf.initialize_unfilled_to(wanted);
        match this.tcp.try_read(target) {
            Ok(read) => {
                this.head.scan(&target[..read]);
                buf.advance(read);
                Poll::Ready(Ok(()))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // Peeked bytes are queued, so this does not happen; if it did, look again.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for UpgradeStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
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

    fn head_length(bytes: &[u8]) -> Option<usize> {
        let mut head = HeadEnd::Start;
        let n = head.scan(bytes);
        (head == HeadEnd::Done).then_some(n)
    }

    #[test]
    fn the_head_ends_at_the_first_empty_line_with_either_line_ending() {
        assert_eq!(head_length(b"HTTP/1.1 101 X\r\nA: b\r\n\r\nframe"), Some(24));
        assert_eq!(head_length(b"HTTP/1.1 101 X\nA: b\n\nframe"), Some(21));
        assert_eq!(head_length(b"HTTP/1.1 101 X\r\nA: b\n\r\nframe"), Some(23));
        assert_eq!(head_length(b"\r\n\r\nHTTP/1.1 101 X\r\n\r\n"), Some(22), "leading empty lines");
        assert_eq!(head_length(b"HTTP/1.1 101 X\r\nA: b\r\n"), None);
        assert_eq!(head_length(b"HTTP/1.1 101 X\r\nA: b\r\n\r"), None);
        assert_eq!(head_length(b""), None);
    }

    #[test]
    fn a_head_split_anywhere_ends_at_the_same_byte() {
        let response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi";
        let end = response.len() - 4;
        for split in 0..response.len() {
            let mut head = HeadEnd::Start;
            let first = head.scan(&response[..split]);
            let second = if head == HeadEnd::Done { 0 } else { head.scan(&response[split..]) };
            assert_eq!((first + second, head), (end, HeadEnd::Done), "split at {split}");
        }
    }

    #[tokio::test]
    async fn reads_stop_at_the_end_of_the_head_and_the_rest_stays_in_the_socket() -> io::Result<()>
    {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await?;
            socket.write_all(b"HTTP/1.1 101 OK\r\nA: b\r\n\r\nfirst frame").await?;
            io::Result::Ok(socket)
        });
        let mut stream = UpgradeStream::new(TcpStream::connect(address).await?);
        let _server = server.await.map_err(io::Error::other)??;
        let mut head = Vec::new();
        let mut chunk = [0u8; 4096];
        while stream.head != HeadEnd::Done {
            let n = stream.read(&mut chunk).await?;
            assert_ne!(n, 0, "the head is all there");
            head.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(head, b"HTTP/1.1 101 OK\r\nA: b\r\n\r\n");
        assert!(stream.read(&mut chunk).await.is_err(), "no reading past the head");
        let mut rest = [0u8; 11];
        stream.into_inner().read_exact(&mut rest).await?;
        assert_eq!(&rest, b"first frame");
        Ok(())
    }
}
