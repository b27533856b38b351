/**
 * The channel registry: which channel types this version can deliver to, and `createChannel`,
 * the one way the engine makes a channel. A channel it makes keeps the contract even when its
 * module does not: `send` and `updateThread` never throw (a throw becomes a failed Delivery),
 * and a `find` that throws cannot tell (undefined).
 */
import type { ChannelSpec } from "../runbook/schema/notify.js";
import { emailChannel } from "./email.js";
import { errorText, failure, oneLine } from "./shared.js";
import { slackChannel } from "./slack.js";
import type { Channel, ChannelEnvironment, ChannelModule, Delivery } from "./types.js";
import { webhookChannel } from "./webhook.js";

type ChannelType = ChannelSpec["type"];

export const CHANNEL_MODULES: { readonly [T in ChannelType]: ChannelModule<T> } = {
  slack: slackChannel,
  email: emailChannel,
  webhook: webhookChannel,
};

export const CHANNEL_TYPES = Object.keys(CHANNEL_MODULES) as readonly ChannelType[];

/** The module of a channel type, or undefined when this version has none. */
export function channelModule<T extends ChannelType>(type: T): ChannelModule<T> | undefined {
  return Object.hasOwn(CHANNEL_MODULES, type) ? (CHANNEL_MODULES[type] as ChannelModule<T>) : undefined;
}

/**
 * The channel `notify.channels.<name>` describes. Throws, naming the field, when the spec
 * cannot be used (a secret not set, a bad URL, an unknown type).
 *
 * @example
 * const channel = createChannel(spec, "releases", env);
 * const delivery = await channel.send(message, signal); // never throws
 */
export function createChannel(spec: ChannelSpec, name: string, env: ChannelEnvironment): Channel {
  const type = String((spec as { type?: unknown } | null | undefined)?.type);
  const module = channelModule(type as ChannelType) as ChannelModule | undefined;
  if (!module)
    throw new Error(`notify.channels.${name}.type: ${type} is not a channel type this version knows`);
  let channel: Channel;
  try {
    channel = module.create(spec, name, env);
  } catch (err) {
    // A module names the field it refuses; anything else it threw is named after the channel here.
    const said = env.redact(errorText(err));
    if (said.startsWith(`notify.channels.${name}`)) throw new Error(said);
    throw new Error(`notify.channels.${name}: cannot use this ${type} channel: ${said}`, { cause: err });
  }
  return guarded(channel, env);
}

function guarded(channel: Channel, env: ChannelEnvironment): Channel {
  const broken = (err: unknown): Delivery =>
    failure(env.redact(oneLine(`${channel.type} channel failed unexpectedly: ${errorText(err)}`)), false);
  const find = channel.find?.bind(channel);
  const updateThread = channel.updateThread?.bind(channel);
  return {
    type: channel.type,
    target: channel.target,
    minIntervalMs: channel.minIntervalMs,
    send: (message, signal) =>
      Promise.resolve()
        .then(() => channel.send(message, signal))
        .catch(broken),
    ...(find
      ? {
          find: (message, signal) =>
            Promise.resolve()
              .then(() => find(message, signal))
              .catch(() => undefined),
        }
      : {}),
    ...(updateThread
      ? {
          updateThread: (thread, message, signal) =>
            Promise.resolve()
              .then(() => updateThread(thread, message, signal))
              .catch(broken),
        }
      : {}),
  };
}
