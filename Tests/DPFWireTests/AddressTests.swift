import DPFWire
import Testing

@Suite struct AddressTests {
    @Test(arguments: [
        ("10.1.0.0", UInt32(0x0A01_0000)), ("255.255.255.255", UInt32.max), ("0.0.0.0", UInt32(0)),
        ("192.0.2.7", UInt32(0xC000_0207)),
    ])
    func parsesIPv4(text: String, value: UInt32) throws {
        let address = try #require(IPv4Address(text))
        #expect(address.value == value)
        #expect(address.description == text)
    }

    @Test(arguments: ["10.1.0", "10.1.0.0.0", "256.0.0.1", "1..2.3", "a.b.c.d", "", "1.2.3.4 ", "0001.2.3.4"])
    func rejectsBadIPv4(text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test(arguments: [
        ("2001:db8::1", "2001:db8::1"), ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::", "::"), ("::1", "::1"),
        ("fe80::", "fe80::"), ("1:0:0:2:0:0:0:3", "1:0:0:2::3"), ("1:0:0:0:2:0:0:3", "1::2:0:0:3"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("::ffff:10.0.0.1", "::ffff:a00:1"), ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
    ])
    func parsesAndFormatsIPv6(text: String, canonical: String) throws {
        let address = try #require(IPv6Address(text))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
    }

    @Test(arguments: [
        "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", ":::", "12345::", "g::1", "1:2:3:4:5:6:7::8",
        "::1.2.3", "",
    ])
    func rejectsBadIPv6(text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test func ipv6WordsAreBigEndianLoads() throws {
        let address = try #require(IPv6Address("2001:db8:1:2:3:4:5:6"))
        #expect(address.words == [0x2001_0DB8, 0x0001_0002, 0x0003_0004, 0x0005_0006])
        #expect(address.bytes.prefix(4) == [0x20, 0x01, 0x0D, 0xB8])
    }

    @Test func parsesMAC() throws {
        let mac = try #require(MACAddress("00:1B:21:3c:4d:5e"))
        #expect(mac.value == 0x001B_213C_4D5E)
        #expect(mac.description == "00:1b:21:3c:4d:5e")
        #expect(MACAddress("0:1:2:3:4:5")?.description == "00:01:02:03:04:05")
        #expect(MACAddress("00:11:22:33:44") == nil)
        #expect(MACAddress("00:11:22:33:44:555") == nil)
        #expect(MACAddress("00-11-22-33-44-55") == nil)
    }
}
