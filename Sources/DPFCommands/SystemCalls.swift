#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// The POSIX calls the commands make, under names that do not clash with our own `read`/`write`/
// `open` methods: one copy for Console, FilterLoader and OutputFile.

/// The system's words for an errno value.
enum SystemError {
    static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }
}

#if canImport(Glibc)
    let systemRead = Glibc.read
    let systemWrite = Glibc.write
    func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        Glibc.open(path, flags, mode)
    }
#elseif canImport(Darwin)
    let systemRead = Darwin.read
    let systemWrite = Darwin.write
    func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        Darwin.open(path, flags, mode)
    }
#endif
