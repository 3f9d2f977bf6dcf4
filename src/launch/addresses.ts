// Picking among a peer's multiaddrs (as text: the launcher's processes that hold no libp2p node
// use these too).

/** Whether a multiaddr is on loopback: reachable from this machine only. */
export const isLoopbackAddress = (addr: string): boolean => /^\/ip4\/127\.|^\/ip6\/::1\//.test(addr)

/** Of a peer's addresses, the one its neighbours on this host reach it by best: loopback. */
export const localAddress = (addrs: string[]): string => addrs.find(isLoopbackAddress) ?? addrs[0]
