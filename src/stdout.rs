//! What commands print: `print!`/`println!` panic when standard output is a pipe that was
//! closed (`dag image info … | head -1`). These end the process quietly instead, as Unix tools
//! do. The process keeps ignoring SIGPIPE: a run's pipes to its workers must stay errors, not
//! signals that would end the run.

use std::io::Write;

/// Writes to standard output; a closed pipe ends the process (exit 0), another failure ends it
/// as an I/O error (exit 4).
pub fn write(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| if newline { out.write_all(b"\n") } else { Ok(()) }).and_then(|()| out.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("error: writing to standard output: {e}");
            std::process::exit(4);
        }
    }
}

macro_rules! out {
    ($($arg:tt)*) => { $crate::stdout::write(format_args!($($arg)*), false) };
}

macro_rules! outln {
    ($($arg:tt)*) => { $crate::stdout::write(format_args!($($arg)*), true) };
}

pub(crate) use {out, outln};
