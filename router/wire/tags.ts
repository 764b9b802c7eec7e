/**
 * The one enum of message tags for the whole mesh protocol. A frame body
 * starts with one of these bytes. Values are never reused; new messages take
 * the next free number and a protocol version bump (intro) announces them.
 */
export enum MessageTag {
  /** Keep-alive; resets the peer's read deadline. Body: empty. */
  Heartbeat = 1,
  /** Features/hello: who we are. First message after the intro (plaintext) or handshake (sealed). */
  Hello = 2,
  /** Channel gossip to a neighbour (full or delta state). */
  Gossip = 3,
  /** Channel message to one peer, relayed along unicast routes. */
  GossipUnicast = 4,
  /** Channel message to every peer, relayed along the source's broadcast tree. */
  GossipBroadcast = 5,
  /** Opaque control message between the two ends' overlays (data plane). */
  OverlayControl = 6,
  /** A Noise handshake message (before the session exists). */
  Handshake = 7,
  /** "I am closing this connection, and why" (the last message a side sends). */
  Refuse = 8,
}

const KNOWN = new Set<number>(Object.values(MessageTag).filter((v): v is number => typeof v === 'number'));

export function isMessageTag(v: number): v is MessageTag {
  return KNOWN.has(v);
}
