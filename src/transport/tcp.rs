//! Plain TCP: the outbox is written as one byte stream; reads go to the sink as they
//! come, up to 64 KiB at a time.

use super::{Broken, Opening, ReadStatus, Transport};
use crate::protocol::Outbox;
use mio::net::TcpStream;
use std::io::{self, Read, Write};

/// How many bytes one `read` asks for.
const READ_CHUNK: usize = 64 * 1024;

pub(crate) struct TcpTransport {
    sock: TcpStream,
    out: Outbox,
    /// Allocated once (not zeroed per read).
    inbuf: Box<[u8]>,
}

/// TCP has no handshake of its own: ready at once.
struct Ready(Option<TcpTransport>);

pub(crate) fn open(sock: TcpStream) -> Box<dyn Opening> {
    Box::new(Ready(Some(TcpTransport {
        sock,
        out: Outbox::default(),
        inbuf: vec![0u8; READ_CHUNK].into_boxed_slice(),
    })))
}

impl Opening for Ready {
    fn step(&mut self) -> Result<Option<Box<dyn Transport>>, String> {
        Ok(self.0.take().map(|t| Box::new(t) as Box<dyn Transport>))
    }
}

impl Transport for TcpTransport {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.out
    }

    fn flush(&mut self) -> Result<(), Broken> {
        while self.out.pending() > 0 {
            match self.sock.write(self.out.unwritten()) {
                Ok(n) => self.out.consume(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    return Err(Broken::Io {
                        send: true,
                        what: format!("sending to OpenD failed: {err}"),
                        err,
                    });
                }
            }
        }
        Ok(())
    }

    fn read(&mut self, sink: &mut dyn FnMut(&[u8])) -> Result<ReadStatus, Broken> {
        loop {
            return match self.sock.read(&mut self.inbuf) {
                Ok(0) => Err(Broken::Closed("OpenD closed the connection".into())),
                Ok(n) => {
                    sink(&self.inbuf[..n]);
                    // On Linux (epoll) a short read of a stream socket drained it, and
                    // bytes arriving later raise a new edge. mio's other back ends are
                    // only promised to report again once a read would block.
                    Ok(ReadStatus {
                        activity: true,
                        more: n == self.inbuf.len() || !cfg!(target_os = "linux"),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(ReadStatus::default()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => Err(Broken::Io {
                    send: false,
                    what: format!("receiving from OpenD failed: {err}"),
                    err,
                }),
            };
        }
    }

    fn unsent(&self) -> usize {
        self.out.pending()
    }
}
