//! SYNTHETIC traces at sizes no real recording of ours has, built line by
//! line in the `strace -f -o` layout the real fixtures show.

/// `i` in base 26 as letters (digit runs in resources fold into one site).
fn letters(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'a' + (i % 26) as u8);
        i /= 26;
        if i == 0 {
            break;
        }
    }
    s.reverse();
    String::from_utf8(s).unwrap()
}

/// `n` distinct double closes of fd 3, every 8th file also left open: the
/// trace `benches/pathological.py findings N` writes, line for line.
pub fn double_closes(n: usize) -> String {
    let mut t = String::from("1000 execve(\"./prog\", [\"./prog\"], 0x7ffe /* 5 vars */) = 0\n");
    let mut leaked = 0;
    for i in 0..n {
        let name = letters(i);
        t.push_str(&format!(
            "1000 openat(AT_FDCWD, \"/data/in-{name}\", O_RDONLY|O_CLOEXEC) = 3\n\
             1000 close(3) = 0\n\
             1000 close(3) = -1 EBADF (Bad file descriptor)\n"
        ));
        if i % 8 == 0 {
            t.push_str(&format!(
                "1000 openat(AT_FDCWD, \"/data/kept-{name}\", O_RDONLY|O_CLOEXEC) = {}\n",
                4 + leaked
            ));
            leaked += 1;
        }
    }
    t.push_str("1000 exit_group(0) = ?\n1000 +++ exited with 0 +++\n");
    t
}
