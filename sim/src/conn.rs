//! A served connection as the rest of the simulator sees it: its index, its socket (so
//! that `Sim::stop` can shut it down) and where pushes go, on either door.

use opend_proto::crypto::BodyCipher;
use opend_proto::wire::{self, HEADER_LEN};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::io::Write;
use std::net::TcpStream;

/// What a push needs to know about a TCP-door connection.
#[derive(Default)]
pub(crate) struct FtPushState {
    pub ready: bool,
    pub recv_notify: bool,
    pub cipher: Option<BodyCipher>,
    pub serial: u32,
}

pub(crate) enum PushSink {
    /// TCP door: pushes are written by the pushing thread, between whole replies.
    Ft {
        write_lock: Mutex<()>,
        state: Mutex<FtPushState>,
    },
    /// WebSocket door: pushes are queued for the connection's thread (tungstenite's
    /// socket has one owner); `None` until the login succeeded.
    Ws {
        queue: Mutex<Option<VecDeque<Vec<u8>>>>,
    },
}

pub(crate) struct Conn {
    pub(crate) index: u64,
    /// The TCP socket (for the WebSocket door, a second handle to it).
    pub(crate) stream: TcpStream,
    pub(crate) sink: PushSink,
}

impl Conn {
    pub(crate) fn ft(index: u64, stream: TcpStream) -> Conn {
        Conn {
            index,
            stream,
            sink: PushSink::Ft {
                write_lock: Mutex::new(()),
                state: Mutex::new(FtPushState::default()),
            },
        }
    }

    pub(crate) fn ws(index: u64, stream: TcpStream) -> Conn {
        Conn {
            index,
            stream,
            sink: PushSink::Ws {
                queue: Mutex::new(None),
            },
        }
    }

    /// Sends (or queues) a push if the connection is set up to receive one.
    pub(crate) fn push(&self, proto_id: u32, plain: &[u8]) {
        match &self.sink {
            PushSink::Ft { write_lock, state } => {
                let frame = {
                    let mut st = state.lock();
                    if !st.ready || !st.recv_notify {
                        return;
                    }
                    st.serial = st.serial.wrapping_add(1).max(1);
                    let body = match &st.cipher {
                        Some(c) => c.encrypt(plain),
                        None => plain.to_vec(),
                    };
                    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
                    wire::encode_frame_into(&mut out, proto_id, st.serial, plain, &body);
                    out
                };
                let _g = write_lock.lock();
                let _ = (&self.stream).write_all(&frame);
            }
            PushSink::Ws { queue } => {
                if let Some(q) = queue.lock().as_mut() {
                    let mut msg = Vec::new();
                    // Pushes carry section 0: no request of the client's has it.
                    wire::ws::encode_reply(&mut msg, proto_id, 0, 0, "", plain);
                    q.push_back(msg);
                }
            }
        }
    }
}
