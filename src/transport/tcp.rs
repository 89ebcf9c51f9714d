//! Plain TCP: the outbox is written as one byte stream; reads go to the protocol as they
//! come, up to 64 KiB at a time.

use super::{Broken, Opening, ReadStatus, Transport};
use crate::protocol::{Outbox, Protocol};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};

/// How many bytes one `read` asks for.
const READ_CHUNK: usize = 64 * 1024;

pub(crate) struct TcpTransport {
    sock: TcpStream,
    out: Outbox,
    /// Allocated once (not zeroed per read).
    inbuf: Box<[u8]>,
}

impl TcpTransport {
    pub(crate) fn new(sock: TcpStream) -> TcpTransport {
        TcpTransport {
            sock,
            out: Outbox::default(),
            inbuf: vec![0u8; READ_CHUNK].into_boxed_slice(),
        }
    }
}

/// TCP has no handshake of its own: ready at once.
pub(crate) struct Ready(pub(crate) Option<TcpTransport>);

impl Opening for Ready {
    fn fd(&self) -> RawFd {
        self.0.as_ref().map_or(-1, |t| t.sock.as_raw_fd())
    }

    fn wants_write(&self) -> bool {
        false
    }

    fn step(&mut self) -> Result<Option<Box<dyn Transport>>, String> {
        Ok(self.0.take().map(|t| Box::new(t) as Box<dyn Transport>))
    }
}

impl Transport for TcpTransport {
    fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    fn outbox(&mut self) -> &mut Outbox {
        &mut self.out
    }

    fn wants_write(&self) -> bool {
        self.out.pending() > 0
    }

    fn flush(&mut self) -> Result<(), Broken> {
        while self.out.pending() > 0 {
            match (&self.sock).write(self.out.unwritten()) {
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

    fn read(&mut self, proto: &mut dyn Protocol) -> Result<ReadStatus, Broken> {
        loop {
            return match (&self.sock).read(&mut self.inbuf) {
                Ok(0) => Err(Broken::Closed("OpenD closed the connection".into())),
                Ok(n) => {
                    proto.handle_input(&self.inbuf[..n]);
                    Ok(ReadStatus {
                        activity: true,
                        more: n == self.inbuf.len(),
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
