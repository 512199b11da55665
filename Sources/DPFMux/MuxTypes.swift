import DPFEngine
import DPFFilter
import DPFMemory
import DPFTrie
import DPFWire

/// How a multiplexer is set up.
public struct MuxConfiguration: Hashable, Sendable {
    /// The link type of every packet it demultiplexes.
    public var linkType: LinkType
    /// Demultiplexing threads; each app has one receive ring per worker.
    public var workers: Int
    /// The engine each snapshot runs (the bytecode interpreter unless a test wants another).
    public var engine: EngineKind
    /// Page frames in the arena (4 KiB each), shared by every app's rings.
    public var frames: Int
    public var maxApps: Int
    /// Each app's virtual space, in pages.
    public var pagesPerApp: Int
    /// Packets per batch read from a source.
    public var batchSize: Int
    /// Batches in flight between the source and the workers (with two workers or more).
    public var pipelineDepth: Int

    public init(
        linkType: LinkType = .ethernet, workers: Int = 1, engine: EngineKind = .bytecode, frames: Int = 4_096,
        maxApps: Int = 64, pagesPerApp: Int = 4_096, batchSize: Int = 256, pipelineDepth: Int = 8
    ) {
        self.linkType = linkType
        self.workers = workers
        self.engine = engine
        self.frames = frames
        self.maxApps = maxApps
        self.pagesPerApp = pagesPerApp
        self.batchSize = batchSize
        self.pipelineDepth = pipelineDepth
    }

    public static let workerLimit = 64
    public static let batchLimit = 1 << 16

    func validate() throws(MuxError) {
        guard (1...MuxConfiguration.workerLimit).contains(workers) else {
            throw .invalidConfiguration(
                "workers must be in 1...\(MuxConfiguration.workerLimit), not \(workers)")
        }
        guard (1...MuxConfiguration.batchLimit).contains(batchSize) else {
            throw .invalidConfiguration(
                "batch size must be in 1...\(MuxConfiguration.batchLimit), not \(batchSize)")
        }
        guard (2...1024).contains(pipelineDepth) else {
            throw .invalidConfiguration("pipeline depth must be in 2...1024, not \(pipelineDepth)")
        }
    }
}

/// A registered app: its id in the memory core, its name (what filters and statistics call it)
/// and its root capability, the network binding (rights: bind-network, tap, grant, revoke).
public struct MuxApp: Hashable, Sendable {
    public let id: AppID
    public let name: String
    public let binding: CapabilityHandle
}

/// What an app asks to install: a filter tree from the IR (never text: the multiplexer does not
/// link the parser), its name, priority and whether it is a tap.
public struct FilterRequest: Sendable {
    public var name: String
    public var tree: FilterTree
    public var priority: Int
    public var isTap: Bool

    public init(name: String, tree: FilterTree, priority: Int = 0, isTap: Bool = false) {
        self.name = name
        self.tree = tree
        self.priority = priority
        self.isTap = isTap
    }
}

/// An installed filter: its stable id and its guard, a capability held by the installing app
/// (rights: bind-network, grant, revoke). Delegating the guard with bind-network lets another app
/// install a filter that takes this one's packets; presenting it with revoke removes the filter.
public struct InstalledMuxFilter: Hashable, Sendable {
    public let id: FilterID
    public let guardCapability: CapabilityHandle
}

/// Every refusal of the multiplexer: bad configuration, an unknown app, a capability that does
/// not carry the authority asked for, a filter the trie refuses, a memory or ring error.
public enum MuxError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidConfiguration(String)
    case unknownApp(AppID)
    case duplicateAppName(String)
    /// The capability presented is forged, altered, stale, revoked, held by someone else, names
    /// another resource, or lacks a right the operation needs.
    case unauthorized(String)
    /// The app has no receive rings attached yet (or they do not match the worker count).
    case noRings(String)
    case unknownFilter(FilterID)
    case filter(TrieError)
    /// The snapshot could not be compiled (a lowering limit); the change was undone.
    case compile(String)
    case memory(MemoryError)
    case ring(RingError)
    /// `run` was called while another run was in progress.
    case busy
    /// The multiplexer runs a loaded program; filters cannot change.
    case fixedProgram

    public var description: String {
        switch self {
        case .invalidConfiguration(let message): "invalid configuration: \(message)"
        case .unknownApp(let app): "\(app) is not registered"
        case .duplicateAppName(let name): "an app named '\(name)' is already registered"
        case .unauthorized(let message): "refused: \(message)"
        case .noRings(let message): message
        case .unknownFilter(let id): "no filter \(id) is installed"
        case .filter(let error): error.message
        case .compile(let message): message
        case .memory(let error): "memory core: \(error)"
        case .ring(let error): "ring: \(error)"
        case .busy: "the multiplexer is already running a source"
        case .fixedProgram: "the multiplexer runs a loaded program; its filters cannot be changed"
        }
    }
}

/// What became of the packets offered to one app or filter.
public struct DeliveryCounters: Hashable, Sendable {
    /// Written into the app's ring.
    public var delivered: UInt64 = 0
    /// Offered to a full ring.
    public var dropped: UInt64 = 0
    /// Offered while the ring's memory was gone (unbound, freed, repossessed).
    public var cancelled: UInt64 = 0
    /// Captured bytes of the delivered packets (before any truncation to a slot).
    public var bytes: UInt64 = 0

    public init() {}

    public var offered: UInt64 { delivered + dropped + cancelled }

    @inline(__always)
    mutating func count(_ outcome: DeliveryOutcome, bytes length: Int) {
        switch outcome {
        case .delivered:
            delivered &+= 1
            bytes &+= UInt64(length)
        case .dropped: dropped &+= 1
        case .cancelled: cancelled &+= 1
        }
    }

    mutating func add(_ other: DeliveryCounters) {
        delivered &+= other.delivered
        dropped &+= other.dropped
        cancelled &+= other.cancelled
        bytes &+= other.bytes
    }
}

/// The multiplexer's statistics at one moment (each worker's at a batch boundary).
///
/// Every packet received is exactly one of: malformed, unmatched, or offered to its owner and
/// then delivered, dropped or cancelled. Tap copies are counted per app and per filter only.
public struct MuxStatistics: Sendable {
    public struct App: Sendable {
        public let id: AppID
        public let name: String
        /// Every packet offered to the app's rings: owned packets and tap copies.
        public let counters: DeliveryCounters
        public let tlb: TLBStatistics
        public let frames: Int
        /// Frames repossessed from the app by force.
        public let repossessed: Int
    }

    public struct Filter: Sendable {
        public let id: FilterID
        public let name: String
        public let app: String
        public let isTap: Bool
        /// False once removed (its counts stay).
        public let isInstalled: Bool
        /// Packets the filter owned (or, for a tap, copied) and what became of them.
        public let counters: DeliveryCounters
    }

    public struct Memory: Sendable {
        public let frames: Int
        public let freeFrames: Int
        public let tlbHits: UInt64
        public let tlbMisses: UInt64
        /// Frames repossessed by force, over every app.
        public let repossessions: Int
        /// Apps with a revocation request pending.
        public let pendingRevocations: Int
    }

    public let received: UInt64
    /// Owned packets written into the owner's ring.
    public let delivered: UInt64
    /// Owned packets offered to a full ring.
    public let dropped: UInt64
    /// Owned packets whose ring's memory was gone.
    public let cancelled: UInt64
    /// Packets no exclusive filter owned (taps may have copied them).
    public let unmatched: UInt64
    /// Packets refused before the filters: shorter than their link header, an IP version wrong
    /// for a raw-IP link, or more bytes captured than were on the wire.
    public let malformed: UInt64
    /// The snapshot generation now published.
    public let generation: UInt64
    public let apps: [App]
    public let filters: [Filter]
    public let memory: Memory

    /// received = delivered + dropped + cancelled + unmatched + malformed.
    public var isBalanced: Bool { received == delivered + dropped + cancelled + unmatched + malformed }
}
