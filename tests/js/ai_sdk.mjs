// Drives byok with the Vercel AI SDK (`ai` + `@ai-sdk/openai`, the Responses API, `store` left
// at its default true): `generateText` with two tools and `stopWhen`, so that step 2 sends the
// items of step 1 back as `item_reference`s. Run by tests/tests/stored.rs in front of a stand-in
// Codex backend that calls both tools (tools.sse) and then answers (reasoning.sse).
// Environment: OPENAI_BASE_URL (byok's, ending in /v1).
// Prints one JSON line: {"steps", "text", "toolCalls", "responseIds", "sent"} (`sent`: the
// request bodies the SDK sent byok); exits non-zero on error.

import { generateText, isStepCount, jsonSchema, tool } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';

const sent = [];
const openai = createOpenAI({
  baseURL: process.env.OPENAI_BASE_URL,
  apiKey: 'byok-ignores-this-without-a-client-key',
  // The SDK's own fetch, watched: what it sends is what the test checks byok expanded.
  fetch: async (url, init) => {
    if (typeof init?.body === 'string') sent.push(JSON.parse(init.body));
    return fetch(url, init);
  },
});

const anything = jsonSchema({ type: 'object', properties: {}, additionalProperties: true });

const result = await generateText({
  model: openai.responses('gpt-5'),
  system: 'You are a weather bot.',
  prompt: 'Weather in New York, and how far to LA?',
  tools: {
    get_weather: tool({
      description: 'The weather at a place',
      inputSchema: anything,
      execute: async () => ({ temperature: 72, unit: 'F' }),
    }),
    calculate_distance: tool({
      description: 'The distance between two points',
      inputSchema: anything,
      execute: async () => ({ miles: 2445 }),
    }),
  },
  stopWhen: isStepCount(3),
  maxRetries: 0,
});

console.log(JSON.stringify({
  steps: result.steps.length,
  text: result.text,
  toolCalls: result.steps[0].toolCalls.map((call) => call.toolName),
  responseIds: result.steps.map((step) => step.response.id),
  sent,
}));
