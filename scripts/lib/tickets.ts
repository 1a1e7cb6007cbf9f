/**
 * Synthetic customer-support messages for the ticket-router text model: four intents, written
 * from templates with shared filler words so the classes overlap as real tickets do. Seeded, so
 * the corpus (and everything trained on it) is reproducible byte for byte.
 */
import { rng } from './ml.ts';

export const INTENTS = ['billing', 'delivery', 'technical', 'account'] as const;

const SLOTS: Record<string, readonly string[]> = {
  item: ['laptop', 'phone', 'order', 'jacket', 'headphones', 'book', 'printer', 'shoes'],
  payment: ['credit card', 'paypal', 'bank transfer', 'visa card', 'debit card'],
  days: ['three', 'five', 'ten', 'two'],
  action: ['upload a photo', 'open settings', 'check out', 'save a file', 'print', 'search'],
  code: ['500', '404', '403', 'e17'],
  device: ['android', 'iphone', 'windows', 'mac', 'chrome', 'firefox'],
  amount: ['twice', '20 euros more', 'too much', 'a fee'],
};

const TEMPLATES: Record<(typeof INTENTS)[number], readonly string[]> = {
  billing: [
    'I was charged {amount} for my {item}',
    'please refund my {payment} payment',
    'why is my invoice higher this month',
    'the {payment} payment failed but money left my account',
    'cancel my subscription and refund the last charge',
    'there is a wrong charge on my {payment}',
    'I need an invoice for my {item} order',
    'you billed me {amount}',
  ],
  delivery: [
    'my {item} has not arrived yet',
    'the parcel is {days} days late',
    'where is my order',
    'the tracking number for my {item} does not work',
    'the courier left my {item} at the wrong address',
    'the package arrived damaged',
    'can I change the delivery address of my {item}',
    'my {item} was delivered to a neighbour',
  ],
  technical: [
    'the app crashes when I {action}',
    'I get error {code} when I {action}',
    'the website is very slow on {device}',
    'I cannot {action} on {device}',
    'the page does not load on my {device}',
    'the app freezes on {device} after the update',
    'error {code} on the checkout page',
  ],
  account: [
    'I forgot my password',
    'how do I change my email address',
    'please delete my account',
    'I cannot log in to my account',
    'the login code never arrives on my {device}',
    'update the phone number on my account',
    'my account is locked after too many attempts',
    'how do I reset my password on {device}',
  ],
};

/** Messages that say nothing about the intent: any class may send them, so no model is perfect. */
const VAGUE = [
  'I have a problem with my {item}',
  'nothing works, please call me',
  'this is the third time I write to you',
];

const OPENERS = ['', '', 'hi,', 'hello,', 'urgent:', 'please help,', 'good morning,'];
const CLOSERS = ['', '', '', 'thanks', 'thank you!', 'asap please', '?', '.'];

export interface Ticket {
  readonly text: string;
  readonly intent: number;
}

export function generateTickets(n: number, seed: number): Ticket[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const out: Ticket[] = [];
  for (let i = 0; i < n; i++) {
    const intent = i % INTENTS.length;
    const templates = rand() < 0.08 ? VAGUE : TEMPLATES[INTENTS[intent] as (typeof INTENTS)[number]];
    const body = pick(templates).replace(/\{(\w+)\}/g, (_, slot: string) =>
      pick(SLOTS[slot] as readonly string[]),
    );
    const text = [pick(OPENERS), body, pick(CLOSERS)].filter((s) => s !== '').join(' ');
    out.push({ text: rand() < 0.3 ? text.charAt(0).toUpperCase() + text.slice(1) : text, intent });
  }
  return out;
}

/** Lower-cased words and punctuation, as BertNormalizer + BertPreTokenizer split ASCII text. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+|[^a-z0-9\s]/g) ?? [];
}

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'] as const;
/** Word pieces, so an unseen plural or tense still reaches its stem. */
const SUFFIXES = ['##s', '##es', '##ed', '##ing', '##er', '##ly'];

/**
 * A BERT-style tokenizer.json (BertNormalizer, BertPreTokenizer, WordPiece, [CLS] $A [SEP]) whose
 * vocabulary is the corpus's words, sorted, after the special tokens and suffix pieces.
 */
export function buildTokenizerJson(corpus: readonly string[]): object {
  const vocabWords = [...new Set(corpus.flatMap(words))].sort();
  const tokens = [...SPECIALS, ...SUFFIXES, ...vocabWords];
  const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((t, i) => special(i, t)),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}
