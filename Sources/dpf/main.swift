import DPFCommands

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

exit(DPFMain.run(CommandLine.arguments.dropFirst()))
