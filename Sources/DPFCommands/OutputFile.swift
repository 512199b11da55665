#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The descriptors `-` stands for on the command line: the process's standard input and output,
/// or pipes a test binds instead.
public enum StandardStreams {
    @TaskLocal public static var input: Int32 = STDIN_FILENO
    @TaskLocal public static var output: Int32 = STDOUT_FILENO
}

/// A file DPF writes because the user named it (`-o PATH`): the one place that decides how, so
/// every command writes files the same way. Every failure is a `CommandFailure` with status 3
/// (the environment refused the write: no permission, no space, nothing writable there), carrying
/// the system's reason.
///
/// - `-` is standard output.
/// - A regular file, or a name where nothing is yet, is replaced atomically: the bytes go to a
///   temporary file in the same directory, which is flushed to disk and renamed over the name, so a
///   reader sees the old file or the whole new one, never a part, and a failed write leaves the old
///   file as it was. A replaced file keeps its permission bits (and, when we run as root, its owner);
///   a new file gets 0666 less the umask, as with the shell's `>`. A read-only file is refused, as
///   with `>`.
/// - A symbolic link is followed to its final target, which is replaced as above; the link stays.
/// - A FIFO or a character device (`/dev/null`, `/dev/stdout`, a terminal) is written through, as
///   `tcpdump -w` does: opened for writing without creating or truncating anything, then written;
///   a failed write (`/dev/full`: "No space left on device") is an error. The regular file
///   standard output goes to (`-o /dev/stdout > file`), or one reached only through /proc's magic
///   links, is truncated and written in place, as `tcpdump -w` would.
/// - A directory, a block device or a socket is refused.
final class OutputFile {
    private enum Kind {
        case standardOutput
        case writeThrough
        case replace(temporary: String, final: String)
    }

    /// The name the user gave, for messages.
    let name: String
    private let descriptor: Int32
    private let kind: Kind
    private var finished = false

    private init(name: String, descriptor: Int32, kind: Kind) {
        self.name = name
        self.descriptor = descriptor
        self.kind = kind
    }

    /// Writes `bytes` to `path` by the rules above and finishes the file.
    static func write(_ bytes: [UInt8], to path: String) throws(CommandFailure) {
        let file = try open(path)
        try file.write(bytes)
        try file.commit()
    }

    /// Whether `path` names standard output.
    static func isStandardOutput(_ path: String) -> Bool { path == "-" }

    /// The first of `inputs` that writing `path` would replace (the same file, links followed),
    /// if any: `dpf compile f.dpf -o f.dpf` must not destroy the filter file.
    static func input(among inputs: [String], replacedBy path: String) -> String? {
        guard !isStandardOutput(path) else { return nil }
        var output = stat()
        guard stat(path, &output) == 0, output.st_mode & S_IFMT == S_IFREG else { return nil }
        return inputs.first { input in
            var info = stat()
            return input != "-" && stat(input, &info) == 0 && info.st_dev == output.st_dev
                && info.st_ino == output.st_ino
        }
    }

    /// Opens `path` for writing by the rules above.
    static func open(_ path: String) throws(CommandFailure) -> OutputFile {
        if isStandardOutput(path) {
            return OutputFile(
                name: "standard output", descriptor: StandardStreams.output, kind: .standardOutput)
        }
        if path.isEmpty { throw failure(path, ENOENT) }
        // What the path names once the kernel has followed every link, including /proc's magic
        // links (/dev/stdout -> /proc/self/fd/1 -> "pipe:[1234]") that no path spells.
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            guard code == ENOENT else { throw failure(path, code) }
            // Nothing there yet, or a link to nothing: create the link's final target.
            return try replacing(try finalTarget(of: path), existing: nil, name: path)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            // The file standard output goes to (`-o /dev/stdout > file`): it is standard output,
            // written in place like `-o -`, so nothing else is printed into it.
            var standard = stat()
            if fstat(StandardStreams.output, &standard) == 0, standard.st_dev == info.st_dev,
                standard.st_ino == info.st_ino
            {
                return try writingThrough(path, name: path, truncating: true)
            }
            let target = try finalTarget(of: path)
            var final = stat()
            if lstat(target, &final) == 0, final.st_mode & S_IFMT == S_IFREG, final.st_dev == info.st_dev,
                final.st_ino == info.st_ino
            {
                return try replacing(target, existing: final, name: path)
            }
            // A regular file reached through a magic link (/dev/stdout redirected to a file):
            // there is no name to rename onto, so truncate and write it as `tcpdump -w` would.
            return try writingThrough(path, name: path, truncating: true)
        case S_IFDIR:
            throw CommandFailure(.environment, "\(path) is a directory")
        case S_IFCHR, S_IFIFO:
            return try writingThrough(path, name: path)
        case S_IFBLK:
            throw CommandFailure(
                .environment, "\(path) is a block device; dpf does not write to block devices")
        case S_IFSOCK:
            throw CommandFailure(.environment, "\(path) is a socket")
        default:
            throw CommandFailure(.environment, "\(path) is neither a file nor a device")
        }
    }

    /// Whether the output is a terminal (where binary output makes no sense).
    var isTerminal: Bool { isatty(descriptor) != 0 }

    /// Whether the output is the file standard output goes to (`-`, `/dev/stdout`, or the file
    /// stdout is redirected to), so nothing else may be printed there.
    var isStandardOutputFile: Bool {
        if case .standardOutput = kind { return true }
        var output = stat()
        var standard = stat()
        guard fstat(descriptor, &output) == 0, fstat(StandardStreams.output, &standard) == 0 else {
            return false
        }
        return output.st_dev == standard.st_dev && output.st_ino == standard.st_ino
    }

    /// Writes all of `bytes`, or fails with the system's reason.
    func write(_ bytes: [UInt8]) throws(CommandFailure) {
        var done = 0
        while done < bytes.count {
            let written = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return systemWrite(descriptor, base + done, buffer.count - done)
            }
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                throw OutputFile.failure(name, code)
            }
            if written == 0 { throw OutputFile.failure(name, EIO) }
            done += written
        }
    }

    /// Finishes the file: flushed and renamed into place, or closed. Until this returns the
    /// replaced file (if any) is untouched; if it throws, it still is.
    func commit() throws(CommandFailure) {
        guard !finished else { return }
        finished = true
        switch kind {
        case .standardOutput:
            return
        case .writeThrough:
            if close(descriptor) != 0 && errno != EINTR { throw OutputFile.failure(name, errno) }
        case .replace(let temporary, let final):
            if fsync(descriptor) != 0 {
                let code = errno
                close(descriptor)
                unlink(temporary)
                throw OutputFile.failure(name, code)
            }
            if close(descriptor) != 0 && errno != EINTR {
                let code = errno
                unlink(temporary)
                throw OutputFile.failure(name, code)
            }
            if rename(temporary, final) != 0 {
                let code = errno
                unlink(temporary)
                throw OutputFile.failure(name, code)
            }
            // Make the rename itself durable; a directory that cannot be synced is not an error.
            let directory = systemOpen(OutputFile.directoryName(of: final), O_RDONLY | O_CLOEXEC)
            if directory >= 0 {
                fsync(directory)
                close(directory)
            }
        }
    }

    deinit {
        guard !finished else { return }
        switch kind {
        case .standardOutput:
            break
        case .writeThrough:
            close(descriptor)
        case .replace(let temporary, _):
            close(descriptor)
            unlink(temporary)
        }
    }

    // MARK: - Opening

    /// `path` with symbolic links in its last component followed to the end (the target need not
    /// exist: writing through a dangling link creates its target, as the shell's `>` does).
    private static func finalTarget(of path: String) throws(CommandFailure) -> String {
        var current = path
        for _ in 0..<40 {
            var info = stat()
            guard lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(current, &buffer, buffer.count - 1)
            guard count >= 0 else { throw failure(path, errno) }
            let link = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if link.hasPrefix("/") {
                current = link
            } else {
                let directory = directoryName(of: current)
                current = directory == "/" ? "/" + link : directory + "/" + link
            }
        }
        throw failure(path, ELOOP)
    }

    /// Opens a temporary file beside `final`, to be renamed over it.
    private static func replacing(_ final: String, existing: stat?, name: String) throws(CommandFailure)
        -> OutputFile
    {
        // `>` refuses a file we may not write; so do we, although the rename would succeed.
        if existing != nil, access(final, W_OK) != 0 { throw failure(name, errno) }
        let directory = directoryName(of: final)
        let base = final.split(separator: "/").last.map(String.init) ?? "output"
        for _ in 0..<100 {
            let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            let temporary = (directory == "/" ? "" : directory) + "/.\(base).\(suffix).tmp"
            let descriptor = systemOpen(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if descriptor < 0 {
                let code = errno
                if code == EEXIST || code == EINTR { continue }
                throw failure(name, code)
            }
            if let existing {
                // Keep what the user set on the file being replaced.
                if geteuid() == 0 { _ = fchown(descriptor, existing.st_uid, existing.st_gid) }
                _ = fchmod(descriptor, existing.st_mode & 0o7777)
            }
            return OutputFile(
                name: name, descriptor: descriptor, kind: .replace(temporary: temporary, final: final))
        }
        throw failure(name, EEXIST)
    }

    /// Opens a FIFO or character device for writing, creating and truncating nothing.
    private static func writingThrough(_ target: String, name: String, truncating: Bool = false)
        throws(CommandFailure) -> OutputFile
    {
        var descriptor: Int32
        repeat {
            descriptor = systemOpen(target, O_WRONLY | O_CLOEXEC | O_NOCTTY | (truncating ? O_TRUNC : 0))
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else { throw failure(name, errno) }
        // If a regular file took the device's place meanwhile, replace it properly instead.
        var info = stat()
        if !truncating, fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
            close(descriptor)
            return try replacing(target, existing: info, name: name)
        }
        return OutputFile(name: name, descriptor: descriptor, kind: .writeThrough)
    }

    static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = path[..<slash]
        return directory.isEmpty ? "/" : String(directory)
    }

    static func failure(_ name: String, _ code: Int32) -> CommandFailure {
        CommandFailure(.environment, "cannot write \(name): \(SystemError.reason(code))")
    }
}
