import { crc32, crc32c } from '@node-rs/crc32';

/**
 * False-positive rate of each layer. A key the filter wrongly reports as stored costs a MERGE
 * of that key against the whole table (see DuckDbWarehouse.upsert); at 2e-6 a flush of 5,000 new
 * keys meets one such key once in 100 flushes (a few layers: 1 in ~30). 27.3 bits per key.
 */
const FALSE_POSITIVE_RATE = 2e-6;
/** Keys of the first layer when the table is empty; each further layer holds twice the last. */
const FIRST_LAYER_KEYS = 1 << 20;

const BITS_PER_KEY = -Math.log(FALSE_POSITIVE_RATE) / Math.LN2 ** 2;
const HASHES = Math.round(BITS_PER_KEY * Math.LN2);

/** murmur3's 32-bit finaliser: spreads a CRC's bits (CRCs are linear) before they index the bits. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A layer as saved with the database (KeyFilter.layerStates, KeyFilter.restore). */
export interface LayerState {
  capacity: number;
  count: number;
  bits: Uint8Array;
}

class Layer {
  readonly bits: Uint32Array;
  readonly size: number;
  count = 0;

  constructor(readonly capacity: number, bits?: Uint32Array) {
    this.size = Math.max(64, Math.ceil(capacity * BITS_PER_KEY));
    this.bits = bits ?? new Uint32Array(Math.ceil(this.size / 32));
    if (this.bits.length !== Math.ceil(this.size / 32)) throw new Error(`a key filter layer of ${capacity} keys has ${this.bits.length} words, expected ${Math.ceil(this.size / 32)}`);
  }

  /** Double hashing (Kirsch-Mitzenmacher): the i-th bit of a key is h1 + i * h2. */
  set(h1: number, h2: number): void {
    for (let i = 0; i < HASHES; i++) {
      const bit = (h1 + i * h2) % this.size;
      this.bits[bit >>> 5] |= 1 << (bit & 31);
    }
    this.count++;
  }

  has(h1: number, h2: number): boolean {
    for (let i = 0; i < HASHES; i++) {
      const bit = (h1 + i * h2) % this.size;
      if ((this.bits[bit >>> 5] & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/**
 * Which keys a table may hold: a scalable Bloom filter (layers of doubling capacity) over the
 * keys of every row written. "No" is certain, so a key it has never seen is inserted without
 * looking it up in the table; "maybe" (the key was written, or 1 in ~500,000 by chance) sends
 * the row to the lookup. Keys are never removed (an erased row's key stays: a later "maybe"
 * for it only costs a lookup). Memory: ~3.4 bytes per key (34 MB per 10 million keys).
 */
export class KeyFilter {
  private readonly layers: Layer[] = [];

  /** Sized for `expected` keys to start with (the rows already stored); firstLayerKeys is the least. */
  constructor(expected = 0, firstLayerKeys = FIRST_LAYER_KEYS) {
    this.layers.push(new Layer(Math.max(firstLayerKeys, expected * 2)));
  }

  add(key: string): void {
    this.addIfAbsent(key);
  }

  /**
   * Adds the key unless the filter may hold it already, in one hashing: true when it was
   * certainly new (what upsert inserts without a lookup), false for a "maybe".
   */
  addIfAbsent(key: string): boolean {
    const [h1, h2] = hashes(key);
    if (this.layers.some((layer) => layer.has(h1, h2))) return false;
    let last = this.layers[this.layers.length - 1];
    if (last.count >= last.capacity) {
      last = new Layer(last.capacity * 2);
      this.layers.push(last);
    }
    last.set(h1, h2);
    return true;
  }

  /** false: the key was never added; true: it probably was. */
  mightContain(key: string): boolean {
    const [h1, h2] = hashes(key);
    return this.layers.some((layer) => layer.has(h1, h2));
  }

  get bytes(): number {
    return this.layers.reduce((sum, layer) => sum + layer.bits.byteLength, 0);
  }

  get keys(): number {
    return this.layers.reduce((sum, layer) => sum + layer.count, 0);
  }

  get layerCount(): number {
    return this.layers.length;
  }

  /** The layers' bits (native byte order, as a Uint32Array holds them), to save with the database. */
  layerStates(): LayerState[] {
    return this.layers.map((layer) => ({ capacity: layer.capacity, count: layer.count, bits: new Uint8Array(layer.bits.buffer, layer.bits.byteOffset, layer.bits.byteLength) }));
  }

  /** A filter from saved layers; throws when a layer's size does not fit its capacity (another version's format). */
  static restore(states: readonly LayerState[]): KeyFilter {
    if (states.length === 0) throw new Error('no key filter layers to restore');
    const filter = new KeyFilter(0, 1);
    filter.layers.length = 0;
    for (const state of states) {
      // A copy: the bytes may not be 4-aligned where they came from.
      const words = new Uint32Array(state.bits.byteLength / 4);
      new Uint8Array(words.buffer).set(state.bits);
      const layer = new Layer(state.capacity, words);
      layer.count = state.count;
      filter.layers.push(layer);
    }
    return filter;
  }
}

function hashes(key: string): [number, number] {
  const bytes = Buffer.from(key, 'utf8');
  // h2 odd and non-zero, so the HASHES bits of a key are distinct positions.
  return [mix(crc32c(bytes)), (mix(crc32(bytes)) | 1) >>> 0];
}
