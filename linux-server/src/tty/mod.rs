//! The terminal line discipline of the serial console, as Linux's n_tty does
//! it for the settings programs actually use: canonical mode (line editing
//! with erase, word erase, kill, ^D as end of file) with echo, raw mode with
//! VMIN/VTIME, CR/NL translation on input, NL → CR NL on output, and the
//! signal characters (^C, ^\, ^Z), which it reports for the caller to turn
//! into signals.

use crate::linux::termios::*;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// A signal a typed character asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TtySignal {
    Interrupt,
    Quit,
    Suspend,
}

/// What typing one byte did.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct InputEffect {
    /// Bytes to send to the terminal (echo).
    pub echo: Vec<u8>,
    pub signal: Option<TtySignal>,
}

/// What a read gets now.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadResult {
    Data(Vec<u8>),
    /// End of file (^D on an empty line): read returns 0.
    Eof,
    /// Nothing yet: the reader has to wait.
    Empty,
}

pub struct LineDiscipline {
    pub termios: Termios,
    pub winsize: Winsize,
    /// The line being edited (canonical mode).
    line: Vec<u8>,
    /// Input readers may take: whole lines in canonical mode, bytes in raw mode.
    ready: VecDeque<u8>,
    /// Positions in `ready` where a ^D was typed, and whether the line was
    /// empty then (an end of file) or not (it just ends the line unsent).
    eof_marks: VecDeque<(usize, bool)>,
    /// The next byte is taken literally (after VLNEXT).
    literal_next: bool,
}

impl Default for LineDiscipline {
    fn default() -> Self {
        Self::new()
    }
}

impl LineDiscipline {
    pub fn new() -> LineDiscipline {
        LineDiscipline {
            termios: Termios::linux_default(),
            winsize: Winsize { rows: 24, cols: 80, xpixel: 0, ypixel: 0 },
            line: Vec::new(),
            ready: VecDeque::new(),
            eof_marks: VecDeque::new(),
            literal_next: false,
        }
    }

    fn lflag(&self, f: u32) -> bool {
        self.termios.lflag & f != 0
    }

    fn canonical(&self) -> bool {
        self.lflag(ICANON)
    }

    /// Set new terminal attributes (TCSETS*); `flush` drops pending input (TCSETSF).
    pub fn set_termios(&mut self, t: Termios, flush: bool) {
        let was_canonical = self.canonical();
        self.termios = t;
        if flush {
            self.flush_input();
        } else if was_canonical && !self.canonical() {
            // Leaving canonical mode: a half-edited line becomes readable.
            self.ready.extend(self.line.drain(..));
        }
    }

    /// Throw away all input (TCFLSH, TCSETSF).
    pub fn flush_input(&mut self) {
        self.line.clear();
        self.ready.clear();
        self.eof_marks.clear();
    }

    /// Bytes a reader could take now (FIONREAD).
    pub fn available(&self) -> usize {
        self.ready.len()
    }

    /// Whether a read would return at once (poll's POLLIN): input is
    /// ready, or an end-of-file mark is at its front.
    pub fn input_ready(&self) -> bool {
        !self.ready.is_empty() || self.eof_marks.front().is_some_and(|&(at, empty)| at == 0 && empty)
    }

    /// Echo form of a byte (control characters as ^X under ECHOCTL).
    fn echo_byte(&self, b: u8, out: &mut Vec<u8>) {
        if !self.lflag(ECHO) {
            return;
        }
        if self.lflag(ECHOCTL) && (b < 0x20 && b != b'\n' && b != b'\t') {
            out.extend_from_slice(&[b'^', b + 0x40]);
        } else if self.lflag(ECHOCTL) && b == 0x7f {
            out.extend_from_slice(b"^?");
        } else {
            out.push(b);
        }
    }

    /// Rub out the last character of the line being edited.
    fn erase_one(&mut self, out: &mut Vec<u8>) -> bool {
        match self.line.pop() {
            Some(b) => {
                if self.lflag(ECHO) && self.lflag(ECHOE) {
                    let width = if self.lflag(ECHOCTL) && (b < 0x20 || b == 0x7f) && b != b'\t' { 2 } else { 1 };
                    for _ in 0..width {
                        out.extend_from_slice(b"\x08 \x08");
                    }
                }
                true
            }
            None => false,
        }
    }

    /// A byte arrived from the terminal.
    pub fn input(&mut self, mut b: u8) -> InputEffect {
        let mut fx = InputEffect::default();
        let t = self.termios;
        if self.literal_next {
            self.literal_next = false;
            self.line_or_ready(b, &mut fx);
            return fx;
        }
        // Input translation.
        if b == b'\r' {
            if t.iflag & IGNCR != 0 {
                return fx;
            }
            if t.iflag & ICRNL != 0 {
                b = b'\n';
            }
        } else if b == b'\n' && t.iflag & INLCR != 0 {
            b = b'\r';
        }
        if self.lflag(ISIG) {
            let sig = if b == t.cc[VINTR] && b != 0 {
                Some(TtySignal::Interrupt)
            } else if b == t.cc[VQUIT] && b != 0 {
                Some(TtySignal::Quit)
            } else if b == t.cc[VSUSP] && b != 0 {
                Some(TtySignal::Suspend)
            } else {
                None
            };
            if let Some(s) = sig {
                self.echo_byte(b, &mut fx.echo);
                if self.lflag(ECHO) {
                    fx.echo.push(b'\n');
                }
                if !self.lflag(NOFLSH) {
                    self.line.clear();
                    self.ready.clear();
                    self.eof_marks.clear();
                }
                fx.signal = Some(s);
                return fx;
            }
        }
        if self.canonical() {
            if self.lflag(IEXTEN) && b == t.cc[VLNEXT] && b != 0 {
                self.literal_next = true;
                return fx;
            }
            if b == t.cc[VERASE] || (b == 0x08 && t.cc[VERASE] == 0x7f) {
                self.erase_one(&mut fx.echo);
                return fx;
            }
            if self.lflag(IEXTEN) && b == t.cc[VWERASE] && b != 0 {
                while self.line.last() == Some(&b' ') && self.erase_one(&mut fx.echo) {}
                while self.line.last().is_some_and(|&c| c != b' ') && self.erase_one(&mut fx.echo) {}
                return fx;
            }
            if b == t.cc[VKILL] && b != 0 {
                if self.lflag(ECHOK) && !self.lflag(ECHOKE) {
                    self.echo_byte(b, &mut fx.echo);
                    fx.echo.push(b'\n');
                    self.line.clear();
                } else {
                    while self.erase_one(&mut fx.echo) {}
                }
                return fx;
            }
            if b == t.cc[VEOF] && b != 0 {
                // End the line without a newline; an empty line reads as EOF.
                let empty = self.line.is_empty();
                self.ready.extend(self.line.drain(..));
                self.eof_marks.push_back((self.ready.len(), empty));
                return fx;
            }
        }
        self.line_or_ready(b, &mut fx);
        fx
    }

    fn line_or_ready(&mut self, b: u8, fx: &mut InputEffect) {
        if self.canonical() {
            let ends = b == b'\n' || (b != 0 && (b == self.termios.cc[VEOL] || b == self.termios.cc[VEOL2]));
            if b == b'\n' && !self.lflag(ECHO) && self.lflag(ECHONL) {
                fx.echo.push(b'\n');
            } else {
                self.echo_byte(b, &mut fx.echo);
            }
            self.line.push(b);
            if ends {
                self.ready.extend(self.line.drain(..));
            }
        } else {
            self.echo_byte(b, &mut fx.echo);
            self.ready.push_back(b);
        }
    }

    /// Take up to `max` bytes for a reader. Canonical mode hands out at most
    /// one line per read, as Linux does.
    pub fn read(&mut self, max: usize) -> ReadResult {
        if self.canonical() {
            if let Some(&(0, true)) = self.eof_marks.front() {
                self.eof_marks.pop_front();
                return ReadResult::Eof;
            }
            // The end of the first complete line: a newline/EOL, or a ^D.
            let nl = self
                .ready
                .iter()
                .position(|&c| c == b'\n' || (c != 0 && (c == self.termios.cc[VEOL] || c == self.termios.cc[VEOL2])));
            let mark = self.eof_marks.front().map(|&(p, _)| p);
            let end = match (nl.map(|i| i + 1), mark) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => return ReadResult::Empty,
            };
            let n = end.min(max);
            let data: Vec<u8> = self.ready.drain(..n).collect();
            for m in self.eof_marks.iter_mut() {
                m.0 -= n;
            }
            // A ^D that only ended a non-empty line is used up with it.
            while let Some(&(0, false)) = self.eof_marks.front() {
                self.eof_marks.pop_front();
            }
            ReadResult::Data(data)
        } else {
            let vmin = self.termios.cc[VMIN] as usize;
            if self.ready.is_empty() || self.ready.len() < vmin.min(max) {
                return ReadResult::Empty;
            }
            let n = self.ready.len().min(max);
            ReadResult::Data(self.ready.drain(..n).collect())
        }
    }

    /// Whether a raw-mode read with VMIN = 0 returns at once (with nothing).
    pub fn nonblocking_raw(&self) -> bool {
        !self.canonical() && self.termios.cc[VMIN] == 0
    }

    /// Output processing (OPOST/ONLCR): what to send for `data`.
    pub fn output(&self, data: &[u8], out: &mut Vec<u8>) {
        let t = self.termios;
        if t.oflag & OPOST == 0 || t.oflag & ONLCR == 0 {
            out.extend_from_slice(data);
            return;
        }
        for &b in data {
            if b == b'\n' {
                out.push(b'\r');
            }
            out.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_str(l: &mut LineDiscipline, s: &[u8]) -> Vec<u8> {
        let mut echo = Vec::new();
        for &b in s {
            echo.extend(l.input(b).echo);
        }
        echo
    }

    #[test]
    fn canonical_line_with_echo_and_cr_translation() {
        let mut l = LineDiscipline::new();
        let echo = type_str(&mut l, b"ls -l\r");
        assert_eq!(echo, b"ls -l\n");
        assert_eq!(l.read(100), ReadResult::Data(b"ls -l\n".to_vec()));
        assert_eq!(l.read(100), ReadResult::Empty);
    }

    #[test]
    fn nothing_readable_until_the_line_ends() {
        let mut l = LineDiscipline::new();
        type_str(&mut l, b"abc");
        assert_eq!(l.read(100), ReadResult::Empty);
        type_str(&mut l, b"\n");
        assert_eq!(l.read(2), ReadResult::Data(b"ab".to_vec()));
        assert_eq!(l.read(100), ReadResult::Data(b"c\n".to_vec()));
    }

    #[test]
    fn erase_kill_and_word_erase() {
        let mut l = LineDiscipline::new();
        let echo = type_str(&mut l, b"abx\x7fc\n");
        assert_eq!(echo, b"abx\x08 \x08c\n");
        assert_eq!(l.read(100), ReadResult::Data(b"abc\n".to_vec()));
        type_str(&mut l, b"junk junk\x15ok\n");
        assert_eq!(l.read(100), ReadResult::Data(b"ok\n".to_vec()));
        type_str(&mut l, b"one two\x17three\n");
        assert_eq!(l.read(100), ReadResult::Data(b"one three\n".to_vec()));
    }

    #[test]
    fn ctrl_d_is_eof_on_an_empty_line_and_a_push_otherwise() {
        let mut l = LineDiscipline::new();
        type_str(&mut l, b"\x04");
        assert_eq!(l.read(100), ReadResult::Eof);
        assert_eq!(l.read(100), ReadResult::Empty);
        type_str(&mut l, b"partial\x04");
        assert_eq!(l.read(100), ReadResult::Data(b"partial".to_vec()));
        assert_eq!(l.read(100), ReadResult::Empty, "the ^D after text is not a second EOF");
        type_str(&mut l, b"x\n\x04");
        assert_eq!(l.read(100), ReadResult::Data(b"x\n".to_vec()));
        assert_eq!(l.read(100), ReadResult::Eof);
    }

    #[test]
    fn input_is_ready_for_poll_only_when_a_read_would_return() {
        let mut l = LineDiscipline::new();
        assert!(!l.input_ready());
        type_str(&mut l, b"half");
        assert!(!l.input_ready(), "a line being edited is not readable");
        type_str(&mut l, b"\n");
        assert!(l.input_ready());
        let _ = l.read(100);
        assert!(!l.input_ready());
        type_str(&mut l, b"\x04");
        assert!(l.input_ready(), "end of file is readable");
    }

    #[test]
    fn signal_characters() {
        let mut l = LineDiscipline::new();
        type_str(&mut l, b"half a line");
        let fx = l.input(0x03);
        assert_eq!(fx.signal, Some(TtySignal::Interrupt));
        assert_eq!(fx.echo, b"^C\n");
        assert_eq!(l.read(100), ReadResult::Empty, "pending input flushed");
        assert_eq!(l.input(0x1c).signal, Some(TtySignal::Quit));
        assert_eq!(l.input(0x1a).signal, Some(TtySignal::Suspend));
    }

    #[test]
    fn raw_mode_hands_out_bytes() {
        let mut l = LineDiscipline::new();
        let mut t = l.termios;
        t.lflag &= !(ICANON | ECHO);
        l.set_termios(t, false);
        assert_eq!(type_str(&mut l, b"q"), b"");
        assert_eq!(l.read(10), ReadResult::Data(b"q".to_vec()));
        assert_eq!(l.read(10), ReadResult::Empty);
    }

    #[test]
    fn output_turns_newlines_into_crlf() {
        let l = LineDiscipline::new();
        let mut out = Vec::new();
        l.output(b"a\nb\n", &mut out);
        assert_eq!(out, b"a\r\nb\r\n");
    }

    #[test]
    fn termios_bytes_round_trip() {
        let t = Termios::linux_default();
        assert_eq!(Termios::from_bytes(&t.to_bytes()), t);
        assert_eq!(t.to_bytes().len(), 36);
    }
}
