//! The server's stdio transport, with bounds. `lsp-server`'s own
//! (`Connection::stdio`) sizes its buffer from the Content-Length header
//! before reading a byte of the body, so a header of 10^11 bytes aborts the
//! process, and reads a header line of any length. This one refuses a
//! header line over [`MAX_HEADER_LINE`] and a message over
//! [`MAX_MESSAGE`] with an error naming what was wrong, and hands each
//! message it accepts to `lsp_server::Message::read`, which parses it.
//! The server sees an ordinary [`Connection`].

use std::io::{self, BufRead, Read, Write};
use std::thread::{self, JoinHandle};

use lsp_server::{Connection, Message};

/// The largest message accepted: far above any C file an editor sends.
pub const MAX_MESSAGE: usize = 256 << 20;

/// The longest header line accepted, its CR LF included.
pub const MAX_HEADER_LINE: usize = 4096;

/// The reader and writer threads of [`stdio`].
#[derive(Debug)]
pub struct IoThreads {
    reader: JoinHandle<io::Result<()>>,
    writer: JoinHandle<io::Result<()>>,
}

impl IoThreads {
    /// Waits for both threads (the reader ends at the client's `exit`
    /// notification or at the end of input); the reader's error first, as
    /// it is why the server stopped, each saying which side failed.
    pub fn join(self) -> Result<(), String> {
        let side = |name: &str, r: thread::Result<io::Result<()>>| match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("{name}: {e}")),
            Err(_) => Err(format!("{name}: the thread panicked")),
        };
        let read = side("input", self.reader.join());
        let written = side("output", self.writer.join());
        read.and(written)
    }
}

/// A connection whose messages come from stdin and go to stdout.
pub fn stdio() -> (Connection, IoThreads) {
    let (server, client) = Connection::memory();
    let Connection { sender, receiver } = client;
    let writer = thread::spawn(move || {
        let mut out = io::stdout().lock();
        for msg in receiver {
            msg.write(&mut out)?;
        }
        out.flush()
    });
    let reader = thread::spawn(move || {
        let mut inp = io::stdin().lock();
        while let Some(msg) = read(&mut inp)? {
            let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
            if sender.send(msg).is_err() || exit {
                break;
            }
        }
        Ok(())
    });
    (server, IoThreads { reader, writer })
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// The next message of `inp`, `None` at the end of input before a header.
pub fn read(inp: &mut impl BufRead) -> io::Result<Option<Message>> {
    let mut size = None;
    let mut line = Vec::new();
    for first in std::iter::once(true).chain(std::iter::repeat(false)) {
        line.clear();
        let n = inp
            .by_ref()
            .take(MAX_HEADER_LINE as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            if first {
                return Ok(None);
            }
            return Err(invalid("the input ended inside a header".to_string()));
        }
        let Some(text) = line.strip_suffix(b"\r\n") else {
            let shown = String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
            return Err(invalid(if n == MAX_HEADER_LINE {
                format!("a header line longer than {MAX_HEADER_LINE} bytes: {shown:?}...")
            } else {
                format!("malformed header: {shown:?}")
            }));
        };
        if text.is_empty() {
            break;
        }
        let text = std::str::from_utf8(text)
            .map_err(|_| invalid("a header that is not UTF-8".to_string()))?;
        let (name, value) = text
            .split_once(": ")
            .ok_or_else(|| invalid(format!("malformed header: {text:?}")))?;
        if name.eq_ignore_ascii_case("Content-Length") {
            let n: usize = value
                .trim()
                .parse()
                .map_err(|_| invalid(format!("Content-Length {value:?} is not a size")))?;
            if n > MAX_MESSAGE {
                return Err(invalid(format!(
                    "a message of {n} bytes, more than the {} MiB the server reads",
                    MAX_MESSAGE >> 20
                )));
            }
            size = Some(n);
        }
    }
    let size = size.ok_or_else(|| invalid("a message without Content-Length".to_string()))?;
    let mut msg = format!("Content-Length: {size}\r\n\r\n").into_bytes();
    let head = msg.len();
    let got = inp.by_ref().take(size as u64).read_to_end(&mut msg)?;
    if got < size {
        return Err(invalid(format!(
            "the input ended {got} bytes into a message of {size}"
        )));
    }
    debug_assert_eq!(msg.len(), head + size);
    Message::read(&mut msg.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> Result<Vec<Message>, String> {
        let mut inp = bytes;
        let mut out = Vec::new();
        while let Some(m) = read(&mut inp).map_err(|e| e.to_string())? {
            out.push(m);
        }
        Ok(out)
    }

    #[test]
    fn messages_are_read_one_after_the_other() {
        let a = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let b = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        let input = format!(
            "Content-Length: {}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{a}content-length: {}\r\n\r\n{b}",
            a.len(),
            b.len()
        );
        let msgs = read_all(input.as_bytes()).unwrap();
        let methods: Vec<&str> = msgs
            .iter()
            .map(|m| match m {
                Message::Notification(n) => n.method.as_str(),
                _ => "?",
            })
            .collect();
        assert_eq!(methods, ["initialized", "exit"]);
    }

    #[test]
    fn bad_headers_and_bodies_are_errors_that_say_what_was_wrong() {
        let cases: [(&[u8], &str); 8] = [
            (
                b"Content-Length: 99999999999\r\n\r\n{}",
                "a message of 99999999999 bytes",
            ),
            (b"Content-Length: -1\r\n\r\n", "is not a size"),
            (b"garbage\r\n\r\n", "malformed header"),
            (b"Content-Length: 2\n\n{}", "malformed header"),
            (b"X-Other: 1\r\n\r\n{}", "without Content-Length"),
            (
                b"Content-Length: 10\r\n\r\n{}",
                "the input ended 2 bytes into a message of 10",
            ),
            (b"Content-Length: 2\r\n\r\n{\xff", "invalid"),
            (b"Content-Length: 1\r\n", "the input ended inside a header"),
        ];
        for (input, want) in cases {
            let err = read_all(input).unwrap_err();
            assert!(
                err.contains(want),
                "{:?}: {err}",
                String::from_utf8_lossy(input)
            );
        }
        let long = format!("X-Long: {}\r\n\r\n", "a".repeat(MAX_HEADER_LINE * 4));
        let err = read_all(long.as_bytes()).unwrap_err();
        assert!(
            err.contains("a header line longer than 4096 bytes"),
            "{err}"
        );
    }

    #[test]
    fn the_end_of_input_between_messages_is_the_end() {
        assert!(read_all(b"").unwrap().is_empty());
    }
}
