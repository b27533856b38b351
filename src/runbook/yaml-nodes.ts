/**
 * Where each YAML node was written: a listener on js-yaml's node events records the nodes as
 * they are composed (a few typed arrays, no tree of objects), so any path of the value can be
 * located, and finds the mappings YAML read from an unquoted `{{ … }}`.
 */
import type jsYaml from "js-yaml";
import { formatPath, MAX_SHOWN, type Path } from "./diagnostics.js";
import type { Position, YamlProblem, YamlResult } from "./yaml-types.js";

/** What the listener reads from js-yaml's state when a node is done. */
interface ClosedState {
  position: number;
  kind: string | null;
  result: unknown;
  anchor: string | null;
}

const SCALAR = 0;
const MAPPING = 1;
const SEQUENCE = 2;
const KIND = 3;
/** The node is a mapping value (it came after a `:`), not a key or a list item. */
const VALUE = 4;
const NONE = -1;

/** Lookups in a collection with more children than this use an index built on first use. */
const SCAN = 8;

/**
 * The nodes js-yaml composed, in the order it opened them, as parallel arrays: where each was
 * opened and closed, its parent, first child and next sibling, its kind, and its value.
 * js-yaml opens a node before the space and properties (`&anchor`, `!tag`) in front of it, so
 * a node's position is found when asked for, by skipping those.
 */
export class YamlNodes {
  count = 0;
  /** Mappings with a list or mapping for a key, e.g. the outer braces of `run: {{ x }}`. */
  readonly collectionKeys: number[] = [];
  /** Whether some alias refers to a list or mapping (then the value is a graph, not a tree). */
  aliases = false;
  /** Sized from the text (about one node per four bytes in a dense file) so that growing is rare. */
  private capacity: number;
  private open: Int32Array;
  private end: Int32Array;
  private parent: Int32Array;
  private first: Int32Array;
  private next: Int32Array;
  private flags: Uint8Array;
  private readonly values: unknown[];
  /** The open nodes, each with its last child so far (children are only added to the node on top). */
  private stack = new Int32Array(256);
  private top = -1;
  /** Anchored lists and mappings, to follow an alias to the node it names. */
  private readonly anchored = new Map<object, number>();
  private readonly aliasTarget = new Map<number, number>();
  private readonly indexes = new Map<number, Map<string, number> | Int32Array>();
  private lineStarts: Int32Array | undefined;

  constructor(private readonly text: string) {
    this.capacity = Math.max(1024, text.length >> 2);
    this.open = new Int32Array(this.capacity);
    this.end = new Int32Array(this.capacity);
    this.parent = new Int32Array(this.capacity);
    this.first = new Int32Array(this.capacity);
    this.next = new Int32Array(this.capacity);
    this.flags = new Uint8Array(this.capacity);
    this.values = new Array(this.capacity);
  }

  readonly listener = (event: jsYaml.EventType, state: jsYaml.State): void => {
    if (event === "open") this.opened(state.position);
    else this.closed(state as unknown as ClosedState);
  };

  private opened(position: number): void {
    const top = this.top;
    const parent = top >= 0 ? this.stack[2 * top]! : NONE;
    let flags = 0;
    let previous = NONE;
    if (parent !== NONE) {
      previous = this.stack[2 * top + 1]!;
      // js-yaml backtracks in one place (a tagged block mapping); forget what it read twice.
      if (previous !== NONE && this.open[previous]! >= position) previous = this.forget(parent, position);
      const from = previous === NONE ? this.open[parent]! : this.end[previous]!;
      if (from < position && colonBetween(this.text, from, position)) flags = VALUE;
    }
    if (this.count === this.capacity) this.grow();
    const node = this.count++;
    this.open[node] = position;
    this.parent[node] = parent;
    this.first[node] = NONE;
    this.next[node] = NONE;
    this.flags[node] = flags;
    if (parent !== NONE) {
      if (previous === NONE) this.first[parent] = node;
      else this.next[previous] = node;
      this.stack[2 * top + 1] = node;
    }
    if (2 * top + 4 > this.stack.length) {
      const bigger = new Int32Array(this.stack.length * 2);
      bigger.set(this.stack);
      this.stack = bigger;
    }
    this.top = top + 1;
    this.stack[2 * top + 2] = node;
    this.stack[2 * top + 3] = NONE;
  }

  private closed(state: ClosedState): void {
    const node = this.stack[2 * this.top]!;
    this.top--;
    this.end[node] = state.position;
    const result = state.result;
    const kind = state.kind === "mapping" ? MAPPING : state.kind === "sequence" ? SEQUENCE : SCALAR;
    this.flags[node]! |= kind;
    this.values[node] = result;
    if (kind === SCALAR) {
      // What js-yaml tried before settling on a scalar is of no use: reuse the room.
      this.first[node] = NONE;
      this.count = node + 1;
      if (result !== null && typeof result === "object") {
        // An alias of a list or mapping (js-yaml gives aliases no kind).
        this.aliases = true;
        const target = this.anchored.get(result);
        if (target !== undefined) this.aliasTarget.set(node, target);
      }
      return;
    }
    if (state.anchor !== null && result !== null && typeof result === "object")
      this.anchored.set(result, node);
    if (this.inner(node) !== node) return;
    if (kind === SEQUENCE) this.emptyItems(node, result as unknown[]);
    else {
      for (let c = this.first[node]!; c !== NONE; c = this.next[c]!) {
        if (!(this.flags[c]! & VALUE) && (this.flags[c]! & KIND) !== SCALAR) {
          this.collectionKeys.push(node);
          break;
        }
      }
    }
  }

  /**
   * js-yaml composes no node for an empty block sequence item (`-` and nothing): adds one
   * right after its `-`, so the items line up with the list's values.
   */
  private emptyItems(sequence: number, items: unknown[]): void {
    let frames = 0;
    for (let c = this.first[sequence]!; c !== NONE; c = this.next[c]!)
      if (!(this.flags[c]! & VALUE)) frames++;
    if (frames >= items.length) return;
    const add = (position: number, before: number, after: number): void => {
      if (this.count === this.capacity) this.grow();
      const node = this.count++;
      this.open[node] = position;
      this.end[node] = position;
      this.parent[node] = sequence;
      this.first[node] = NONE;
      this.next[node] = before;
      this.flags[node] = SCALAR;
      this.values[node] = null;
      if (after === NONE) this.first[sequence] = node;
      else this.next[after] = node;
    };
    let previous = NONE;
    let child = this.first[sequence]!;
    for (;;) {
      const from = previous === NONE ? this.open[sequence]! : this.end[previous]!;
      const to = child === NONE ? this.end[sequence]! : this.open[child]!;
      // Every `-` in the gap but the one that introduces `child` is an empty item.
      const dashes = dashesBetween(this.text, from, to);
      const empty = child === NONE ? dashes : dashes.slice(0, -1);
      for (const dash of empty) {
        add(dash + 1, child, previous);
        previous = this.count - 1;
      }
      if (child === NONE) break;
      previous = child;
      child = this.next[child]!;
    }
  }

  /** Drops the children of `parent` opened at or after `position`; returns its new last child. */
  private forget(parent: number, position: number): number {
    let keep = NONE;
    for (let c = this.first[parent]!; c !== NONE && this.open[c]! < position; c = this.next[c]!) keep = c;
    const drop = keep === NONE ? this.first[parent]! : this.next[keep]!;
    if (keep === NONE) this.first[parent] = NONE;
    else this.next[keep] = NONE;
    this.stack[2 * this.top + 1] = keep;
    if (drop !== NONE) this.count = drop;
    return keep;
  }

  private grow(): void {
    this.capacity *= 2;
    const grow = <T extends Int32Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(this.capacity);
      b.set(a);
      return b;
    };
    this.open = grow(this.open);
    this.end = grow(this.end);
    this.parent = grow(this.parent);
    this.first = grow(this.first);
    this.next = grow(this.next);
    this.flags = grow(this.flags);
  }

  private kind(node: number): number {
    return this.flags[node]! & KIND;
  }

  /**
   * The node that holds the content. A flow collection or a scalar written as a block value is
   * read by js-yaml as a would-be key first, and then kept: the outer node's only child.
   */
  private inner(node: number): number {
    for (;;) {
      const child = this.first[node]!;
      if (
        this.kind(node) === SCALAR ||
        child === NONE ||
        this.next[child] !== NONE ||
        this.values[child] !== this.values[node]
      ) {
        return node;
      }
      node = child;
    }
  }

  /** Follows aliases and would-be keys to the node whose children are the content. */
  private resolve(node: number): number {
    for (let i = 0; i < 1000; i++) {
      const target = this.aliasTarget.get(node);
      if (target !== undefined) {
        node = target;
        continue;
      }
      const inner = this.inner(node);
      if (inner === node) return node;
      node = inner;
    }
    return node;
  }

  locate(path: Path, key = false): Position {
    if (this.count === 0) return { line: 1, col: 1 };
    let node = 0;
    let offset = this.start(node);
    for (let i = 0; i < path.length; i++) {
      const here = this.resolve(node);
      let next = NONE;
      if (this.kind(here) === MAPPING) {
        const keyNode = this.keyNode(here, String(path[i]));
        if (keyNode === NONE) break;
        if (key && i === path.length - 1) {
          offset = this.start(keyNode);
          break;
        }
        const valueNode = this.next[keyNode]!;
        next = valueNode !== NONE && this.flags[valueNode]! & VALUE ? valueNode : keyNode;
      } else if (this.kind(here) === SEQUENCE && typeof path[i] === "number") {
        next = this.item(here, path[i] as number);
        // `[a: 1]`: the item is a one-pair mapping whose only node is its key.
        const pairValue = next === NONE ? NONE : this.next[next]!;
        if (pairValue !== NONE && this.flags[pairValue]! & VALUE && i + 1 < path.length) {
          if (String(path[i + 1]) === this.keyText(next)) {
            i++;
            if (key && i === path.length - 1) {
              offset = this.start(next);
              break;
            }
            next = pairValue;
          }
        }
      }
      if (next === NONE) break;
      node = next;
      offset = this.start(node);
    }
    return this.position(offset);
  }

  /** The key node for `name` in a mapping. */
  private keyNode(mapping: number, name: string): number {
    let index = this.indexes.get(mapping);
    if (index === undefined) {
      let children = 0;
      for (let c = this.first[mapping]!; c !== NONE && children <= SCAN; c = this.next[c]!) children++;
      if (children <= SCAN) {
        for (let c = this.first[mapping]!; c !== NONE; c = this.next[c]!) {
          if (!(this.flags[c]! & VALUE) && this.keyText(c) === name) return c;
        }
        return NONE;
      }
      const map = new Map<string, number>();
      for (let c = this.first[mapping]!; c !== NONE; c = this.next[c]!) {
        if (!(this.flags[c]! & VALUE)) {
          const text = this.keyText(c);
          if (!map.has(text)) map.set(text, c);
        }
      }
      index = map;
      this.indexes.set(mapping, index);
    }
    return (index as Map<string, number>).get(name) ?? NONE;
  }

  /** The key as js-yaml stores it: `String(key)`, and `[object Object]` for a mapping. */
  private keyText(node: number): string {
    return this.kind(node) === MAPPING ? "[object Object]" : String(this.values[node]);
  }

  /** The nodes of a sequence's items (a `key: value` pair in a flow sequence is its key). */
  private items(sequence: number): Int32Array {
    let index = this.indexes.get(sequence);
    if (index === undefined) {
      let n = 0;
      for (let c = this.first[sequence]!; c !== NONE; c = this.next[c]!) if (!(this.flags[c]! & VALUE)) n++;
      const list = new Int32Array(n);
      n = 0;
      for (let c = this.first[sequence]!; c !== NONE; c = this.next[c]!)
        if (!(this.flags[c]! & VALUE)) list[n++] = c;
      index = list;
      this.indexes.set(sequence, index);
    }
    return index as Int32Array;
  }

  private item(sequence: number, i: number): number {
    return i >= 0 && i < this.items(sequence).length ? this.items(sequence)[i]! : NONE;
  }

  /** Where a node's content starts: after the space, comments and properties js-yaml opened it before. */
  private start(node: number): number {
    const text = this.text;
    const end = this.end[node]!;
    let i = this.open[node]!;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else if (c === 0x23) while (i < end && text.charCodeAt(i) !== 0x0a) i++;
      else if (c === 0x26 || c === 0x21) i = skipToken(text, i, end);
      else return i;
    }
    // Nothing written (`key:` and no value): where it would have been.
    return this.open[node]!;
  }

  private position(offset: number): Position {
    if (!this.lineStarts) {
      const starts = [0];
      for (let i = this.text.indexOf("\n"); i !== -1; i = this.text.indexOf("\n", i + 1)) starts.push(i + 1);
      this.lineStarts = Int32Array.from(starts);
    }
    const starts = this.lineStarts;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, col: offset - starts[low]! + 1 };
  }

  /** The path of a node, from the root, as the loaded value names it. */
  private pathOf(node: number): Array<string | number> {
    const path: Array<string | number> = [];
    let child = node;
    for (let parent = this.parent[child]!; parent !== NONE; child = parent, parent = this.parent[child]!) {
      if (this.inner(parent) !== parent) continue;
      if (this.kind(parent) === MAPPING) {
        let key = child;
        if (this.flags[child]! & VALUE) {
          for (let c = this.first[parent]!; c !== NONE && c !== child; c = this.next[c]!) key = c;
        }
        path.unshift(this.keyText(key));
      } else if (this.kind(parent) === SEQUENCE) {
        const items = this.items(parent);
        let low = 0;
        let high = items.length - 1;
        const at = this.open[child]!;
        while (low < high) {
          const mid = (low + high + 1) >> 1;
          if (this.open[items[mid]!]! <= at) low = mid;
          else high = mid - 1;
        }
        path.unshift(low);
      }
    }
    return path;
  }

  /** One problem per mapping with a list or mapping for a key: almost always an unquoted template. */
  collectionKeyProblems(): YamlResult {
    const all = this.collectionKeys.sort((a, b) => this.open[a]! - this.open[b]!);
    const problems = all.slice(0, MAX_SHOWN).map((node): YamlProblem => {
      const at = this.start(node);
      const written = this.text.slice(at, Math.min(this.end[node]!, at + 200));
      const template = /^\{\{[^\n]*?\}\}/.exec(written)?.[0];
      const message = template
        ? `unquoted template: YAML reads \`${short(template)}\` as a mapping; quote the whole value: "${template.length <= 60 ? template : "{{ … }}"}"`
        : "a key must be a name, not a list or a mapping";
      let where = at;
      if (!template) {
        for (let c = this.first[node]!; c !== NONE; c = this.next[c]!) {
          if (!(this.flags[c]! & VALUE) && this.kind(c) !== SCALAR) {
            where = this.start(c);
            break;
          }
        }
      }
      return { ...this.position(where), path: formatPath(this.pathOf(node)), message };
    });
    return { ok: false, problems, omitted: all.length - problems.length };
  }
}

function short(text: string): string {
  return text.length <= 60 ? text : `${text.slice(0, 57)}…`;
}

/** Whether js-yaml stepped over a `:` (outside comments and properties) between two offsets. */
function colonBetween(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) return true;
    if (c === 0x23) while (i < to && text.charCodeAt(i) !== 0x0a) i++;
    else if (c === 0x21 || c === 0x26) i = skipToken(text, i, to) - 1;
  }
  return false;
}

/** The offsets of the block sequence indicators (`-` then a space or line break) between two offsets. */
function dashesBetween(text: string, from: number, to: number): number[] {
  const found: number[] = [];
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x23) while (i < to && text.charCodeAt(i) !== 0x0a) i++;
    else if (c === 0x2d) {
      const after = i + 1 < text.length ? text.charCodeAt(i + 1) : 0x0a;
      if (after === 0x20 || after === 0x09 || after === 0x0a || after === 0x0d) found.push(i);
    }
  }
  return found;
}

/** The offset after a property token (`&anchor`, `!tag`): the next space or line break. */
function skipToken(text: string, i: number, end: number): number {
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) break;
    i++;
  }
  return i;
}
