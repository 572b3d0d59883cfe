// Kafka helpers of the benchmark: its own topics (created and deleted by the run), and
// consumer-group progress read from the broker (committed offsets = rows written).
import { Kafka, logLevel } from 'kafkajs';

export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

export function benchKafka(clientId = 'callstream-bench') {
  return new Kafka({ clientId, brokers: BROKERS, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
}

export class BenchAdmin {
  constructor() {
    this.admin = benchKafka('callstream-bench-admin').admin();
    this.created = new Set();
    this.groups = new Set();
  }

  /** Remembers a consumer group of this run, deleted by cleanup(). */
  group(id) {
    this.groups.add(id);
    return id;
  }

  async connect() {
    await this.admin.connect();
  }

  /** Creates topics (remembered for cleanup). */
  async createTopics(names, partitions = 6) {
    await this.admin.createTopics({
      topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
      waitForLeaders: true,
    });
    for (const n of names) this.created.add(n);
  }

  /** Remembers topics a callstream process created, so that cleanup deletes them too. */
  track(names) {
    for (const n of names) this.created.add(n);
  }

  async endOffsets(topic) {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high), 0);
  }

  /** Records the group has committed on the topic (sum over partitions). */
  async committed(groupId, topic) {
    const [offsets] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  }

  /**
   * Polls the group's committed offsets until they reach `end`; resolves with the time
   * (Date.now()) of the first poll that saw it. Rejects after timeoutMs or when `alive`
   * says the consumer died.
   */
  async waitCommitted(groupId, topic, end, { timeoutMs = 600_000, intervalMs = 50, alive = () => true } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const done = await this.committed(groupId, topic);
      if (done >= end) return Date.now();
      if (!alive()) throw new Error(`consumer of ${groupId} exited at ${done}/${end} committed`);
      if (Date.now() > deadline) throw new Error(`group ${groupId} committed ${done}/${end} of ${topic} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  async deleteGroups(groups) {
    try {
      await this.admin.deleteGroups(groups);
    } catch {
      // a group with members left or never created: nothing to clean
    }
  }

  /** Deletes every topic (so the disk does not fill up) and consumer group this run created. */
  async cleanup() {
    if (this.groups.size > 0) await this.deleteGroups([...this.groups]);
    this.groups.clear();
    const existing = new Set(await this.admin.listTopics());
    const topics = [...this.created].filter((t) => existing.has(t));
    if (topics.length > 0) await this.admin.deleteTopics({ topics, timeout: 60_000 });
    this.created.clear();
    return topics;
  }

  async disconnect() {
    await this.admin.disconnect();
  }
}
