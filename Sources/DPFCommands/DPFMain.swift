import ArgumentParser

/// Runs the `dpf` command line and maps every outcome to an `ExitStatus`.
public enum DPFMain {
    public static func run(_ arguments: some Collection<String>, console: Console = .standard) -> Int32 {
        Console.$current.withValue(console) {
            do {
                var command = try DPFCommand.parseAsRoot(Array(arguments))
                try command.run()
                return ExitStatus.success.rawValue
            } catch let failure as CommandFailure {
                if let message = failure.message { console.err("dpf: " + message) }
                return failure.status.rawValue
            } catch {
                let code = DPFCommand.exitCode(for: error)
                let message = DPFCommand.fullMessage(for: error)
                if code == .success {
                    console.out(message)
                    return ExitStatus.success.rawValue
                }
                console.err(message)
                // The argument parser's own errors are usage errors. Commands turn bad input into
                // CommandFailure, so anything else that escapes is the environment failing us.
                return (code == .validationFailure ? ExitStatus.usage : .environment).rawValue
            }
        }
    }
}

struct DPFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dpf",
        abstract: "DPF: a dynamic packet filter engine and compiler.",
        subcommands: [CompileCommand.self, ReplayCommand.self, DemoCommand.self, BenchCommand.self]
    )
}
