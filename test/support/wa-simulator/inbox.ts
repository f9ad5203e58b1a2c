import { jidDecode } from '@whiskeysockets/baileys';

/** What one recipient device decrypted from one relay: what a user would see on that phone. */
export type Delivery = {
  /** WhatsApp message id (the sender chose it). */
  id: string;
  /** Sender's PN JID (user@s.whatsapp.net). */
  from: string;
  /** Recipient's PN JID. */
  to: string;
  /** True for the copy the sender's own phone gets (device-sent message). */
  ownDevice: boolean;
  type: 'text' | 'image' | 'video' | 'audio' | 'document' | 'sticker' | 'other' | 'undecryptable';
  text?: string;
  caption?: string;
  fileName?: string;
  mimetype?: string;
  ptt?: boolean;
  /** The id of the message this one replies to (its contextInfo.stanzaId). */
  quotedId?: string;
  /** sha256 (hex) of the decrypted media bytes, after every check passed. */
  sha256?: string;
  size?: number;
  /** Why decryption or a media check failed; the delivery is then not what the sender meant. */
  error?: string;
};

const userOf = (jid: string) => jidDecode(jid.includes('@') ? jid : `${jid}@s.whatsapp.net`)?.user;

/**
 * The simulated phones' message lists. WhatsApp's server does not deduplicate relays; a phone keeps messages
 * by (chat, sender, id), so a message relayed twice under one id shows once, as in the real apps. Every relay
 * is counted besides, so a test can tell "shown once" (what the recipient sees) from "sent once" (what the
 * sender did).
 */
export class Inbox {
  /** Every copy a phone got, in arrival order, duplicates and failures included. */
  private readonly relayed: Delivery[] = [];
  /** One entry per (recipient, sender, id): the first copy that decrypted, or the first copy while none did. */
  private readonly shown = new Map<string, Delivery>();

  add(delivery: Delivery) {
    this.relayed.push(delivery);
    // 1:1 chats only: on the recipient's phone the chat is the sender.
    const key = `${delivery.to}|${delivery.from}|${delivery.id}`;
    const held = this.shown.get(key);
    // A copy that could not be opened is replaced by a later good one (what a retry receipt achieves).
    if (!held || (held.error && !delivery.error)) this.shown.set(key, delivery);
  }

  /** What the recipients' phones show (optionally one recipient's: PN JID or bare number); own copies excluded. */
  received(jid?: string): Delivery[] {
    return this.pick([...this.shown.values()], jid);
  }

  /** Every relay that reached a recipient's phone, a repeated id once per relay; own copies excluded. */
  relays(jid?: string): Delivery[] {
    return this.pick(this.relayed, jid);
  }

  /** How many times each message id was relayed to the recipient(s): `{ [id]: count }`. */
  relayCounts(jid?: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const d of this.relays(jid)) counts[d.id] = (counts[d.id] ?? 0) + 1;
    return counts;
  }

  /** Copies the senders' own phones decrypted (device-sent messages), once per id. */
  ownDeviceCopies(): Delivery[] {
    return [...this.shown.values()].filter((d) => d.ownDevice);
  }

  private pick(list: Delivery[], jid: string | undefined) {
    const user = jid ? userOf(jid) : undefined;
    return list.filter((d) => !d.ownDevice && (!user || userOf(d.to) === user));
  }
}
