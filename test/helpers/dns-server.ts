/**
 * DNS servers for tests, on 127.0.0.1 and a free UDP port: a dns2 server answering from a
 * record table, and one that reads queries and never answers. Answers stay small, so UDP is
 * enough (a resolver falls back to TCP only for truncated answers).
 */
import dgram from "node:dgram";
import dns2 from "dns2";

const { Packet } = dns2;

export type RecordType = "A" | "AAAA" | "CNAME" | "TXT" | "MX" | "NS";

/**
 * Records by name. TXT values are one string, or its chunks; MX values are
 * "<priority> <exchange>". A name mapped to "SERVFAIL" or "REFUSED" answers with that code.
 * Names not in the table do not exist (NXDOMAIN).
 */
export type Zone = Record<
  string,
  Partial<Record<RecordType, Array<string | string[]>>> | "SERVFAIL" | "REFUSED"
>;

export interface DnsServer {
  /** host:port, for a probe's `server:`. */
  address: string;
  port: number;
  /** The questions asked so far, as "name TYPE". */
  asked: string[];
  close(): Promise<void>;
}

const RCODE = { NXDOMAIN: 3, SERVFAIL: 2, REFUSED: 5 };
const TYPES: Record<number, RecordType> = { 1: "A", 28: "AAAA", 5: "CNAME", 16: "TXT", 15: "MX", 2: "NS" };

/** A dns2 server answering from `zone` (names matched case-insensitively, trailing dot ignored). */
/** `port` 0 (the default) takes a free one; a stand-in passes its fixed port. */
export async function startDnsServer(zone: Zone, port = 0): Promise<DnsServer> {
  const table = new Map(Object.entries(zone).map(([name, records]) => [normal(name), records]));
  const asked: string[] = [];
  const server = dns2.createUDPServer((request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const question = request.questions[0];
    if (question) {
      const type = TYPES[question.type] ?? String(question.type);
      asked.push(`${question.name} ${type}`);
      answer(table, question.name, type, response);
    }
    void send(response);
  });
  server.on("requestError", () => undefined);
  await server.listen(port, "127.0.0.1");
  const bound = server.address().port;
  return {
    address: `127.0.0.1:${bound}`,
    port: bound,
    asked,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function answer(table: Map<string, Zone[string]>, asked: string, type: string, response: dns2.Packet): void {
  let name = normal(asked);
  // Follow CNAMEs inside the zone, as a recursive resolver would.
  for (let hops = 0; hops < 8; hops++) {
    const records = table.get(name);
    if (records === undefined) {
      if (response.answers.length === 0) response.header.rcode = RCODE.NXDOMAIN;
      return;
    }
    if (records === "SERVFAIL" || records === "REFUSED") {
      response.header.rcode = RCODE[records];
      return;
    }
    const alias = records.CNAME?.[0];
    if (alias !== undefined && type !== "CNAME") {
      response.answers.push(resource(name, "CNAME", alias));
      name = normal(String(alias));
      continue;
    }
    for (const value of records[type as RecordType] ?? []) response.answers.push(resource(name, type, value));
    return;
  }
}

function resource(name: string, type: string, value: string | string[]): dns2.Packet.Resource {
  const base = { name, class: Packet.CLASS.IN, ttl: 60 };
  const text = Array.isArray(value) ? value.join("") : value;
  switch (type) {
    case "A":
      return { ...base, type: Packet.TYPE.A, address: text } as dns2.Packet.Resource;
    case "AAAA":
      return { ...base, type: Packet.TYPE.AAAA, address: text } as dns2.Packet.Resource;
    case "CNAME":
      return { ...base, type: Packet.TYPE.CNAME, domain: text } as dns2.Packet.Resource;
    case "NS":
      return { ...base, type: Packet.TYPE.NS, ns: text } as dns2.Packet.Resource;
    case "TXT":
      return { ...base, type: Packet.TYPE.TXT, data: value } as dns2.Packet.Resource;
    case "MX": {
      const [priority, exchange] = text.split(/\s+/);
      return {
        ...base,
        type: Packet.TYPE.MX,
        priority: Number(priority),
        exchange: exchange ?? "",
      } as dns2.Packet.Resource;
    }
    default:
      throw new Error(`record type ${type} is not supported by the test server`);
  }
}

function normal(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** A UDP socket on 127.0.0.1 that reads queries and never answers. */
export async function silentDnsServer(): Promise<DnsServer> {
  return udpServer(() => undefined);
}

/** A UDP socket on 127.0.0.1 that answers every query with bytes that are not DNS. */
export async function garbageDnsServer(): Promise<DnsServer> {
  return udpServer((socket, from) => socket.send("this is not DNS", from.port, from.address));
}

async function udpServer(
  onMessage: (socket: dgram.Socket, from: dgram.RemoteInfo) => void,
): Promise<DnsServer> {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (_data, from) => onMessage(socket, from));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  return {
    address: `127.0.0.1:${port}`,
    port,
    asked: [],
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A loopback UDP port where nothing listens (it was free a moment ago): queries are refused. */
export async function closedDnsPort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
