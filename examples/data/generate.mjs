// Writes the generated example data files of this folder: classify.jsonl, classify.csv,
// multilabel.jsonl, tag.jsonl and regress.csv (lm.txt is written by hand). Deterministic: the same script always
// writes the same bytes (a test checks the committed files against it).
//
//   node examples/data/generate.mjs
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** mulberry32: a tiny seeded generator, so the script needs nothing from the repository. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
    normal: () => {
      let u = 0;
      while (u === 0) u = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    shuffle: (xs) => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [xs[i], xs[j]] = [xs[j], xs[i]];
      }
      return xs;
    },
  };
  return r;
}

// --- classify.jsonl: which language is a short phrase in? -------------------------------
const WORDS = {
  en: 'the and house water little people always between through would could should think morning evening friend window garden after before where which thank you very much today weather street children night brown quick every never answer bright together'.split(' '),
  fr: "le la les et maison eau petit toujours entre avec pourquoi beaucoup merci bonjour aujourd'hui temps rue enfants nuit jardin fenêtre ami matin soir être très déjà où ça école château garçon fille chose peut-être nous vous".split(' '),
  es: 'el la los las y casa agua pequeño siempre entre con porque mucho gracias hola hoy tiempo calle niños noche jardín ventana amigo mañana tarde muy también dónde señor año escuela pero cuando ciudad nosotros ellos'.split(' '),
  de: 'der die das und Haus Wasser klein immer zwischen mit warum viel danke guten heute Wetter Straße Kinder Nacht Garten Fenster Freund Morgen Abend sehr schon wo schön Mädchen über für nicht ich gehen zusammen'.split(' '),
};

function classifyJsonl() {
  const r = rng(1);
  const lines = [];
  for (const lang of Object.keys(WORDS)) {
    for (let i = 0; i < 50; i++) {
      const n = 2 + r.int(5);
      let text = Array.from({ length: n }, () => r.pick(WORDS[lang])).join(' ');
      if (r.chance(0.5)) text = text[0].toUpperCase() + text.slice(1);
      lines.push(JSON.stringify({ text, label: lang }));
    }
  }
  return r.shuffle(lines).join('\n') + '\n';
}

// --- classify.csv: is a short review positive or negative? ------------------------------
function classifyCsv() {
  const r = rng(2);
  const subjects = ['the film', 'the food', 'our stay', 'the service', 'this phone', 'the "deluxe" room', 'the book', 'the concert', 'the coffee', 'the tour'];
  const good = ['great', 'wonderful', 'excellent', 'lovely', 'delightful', 'superb', 'fantastic', 'good'];
  const bad = ['awful', 'terrible', 'boring', 'disappointing', 'dreadful', 'poor', 'bland', 'bad'];
  const intens = ['', '', 'really ', 'truly ', 'quite ', 'very '];
  const clauses = {
    pos: ['', '', ', would go again', ', highly recommended', ' and cheap, too', '!'],
    neg: ['', '', ', never again', ', what a waste', ' and overpriced', '...'],
  };
  const rows = ['id,text,label'];
  for (let i = 1; i <= 200; i++) {
    const positiveWord = r.chance(0.5);
    const negated = r.chance(0.2);
    const label = positiveWord !== negated ? 'pos' : 'neg';
    const adj = r.pick(positiveWord ? good : bad);
    const s = r.pick(subjects);
    const text = `${s[0].toUpperCase()}${s.slice(1)} was ${negated ? 'not ' : ''}${r.pick(intens)}${adj}${r.pick(clauses[label])}`;
    const quoted = /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    rows.push(`${i},${quoted},${label}`);
  }
  return rows.join('\n') + '\n';
}

// --- multilabel.jsonl: news headlines tagged with every topic they touch ------------------
// A headline names 0 to 3 topics through their words; its labels are exactly those topics.
const TOPICS = {
  sports: ['match', 'coach', 'league', 'striker', 'marathon', 'tennis final', 'stadium', 'goalkeeper'],
  politics: ['election', 'senate', 'minister', 'parliament', 'tax bill', 'mayor', 'campaign', 'vote'],
  tech: ['app', 'chip maker', 'software', 'robot', 'laptop', 'startup', 'data centre', 'smartphone'],
  health: ['doctor', 'vaccine', 'hospital', 'sleep study', 'clinic', 'nurses', 'flu season', 'diet'],
  food: ['recipe', 'pizza', 'bakery', 'chef', 'coffee', 'street food', 'vegan menu', 'cheese'],
};
const ONE = ['{a} makes headlines', 'What the {a} means for you', 'Local {a} draws a crowd', 'New {a} surprises fans',
  'Why everyone talks about the {a}', 'The {a} story nobody expected', '{A} in the spotlight', 'A closer look at the {a}'];
const TWO = ['{A} meets {b}', 'From {a} to {b}', 'The {a} behind the {b}', '{A} and {b} in one week', 'How the {a} changed the {b}'];
const THREE = ['{A}, {b} and {c}: the week in review', '{A} vs {b}, and the {c}'];
const NONE = ['A quiet morning in town', 'Five things to read this weekend', 'What a week it has been', 'Letters to the editor',
  'Photos of the week', 'Our readers ask, we answer', 'Corrections and clarifications', 'The view from the river'];

function multilabelJsonl() {
  const r = rng(5);
  const names = Object.keys(TOPICS);
  const cap = (s) => s[0].toUpperCase() + s.slice(1);
  const lines = [];
  for (let i = 0; i < 500; i++) {
    const u = r.next();
    const n = u < 0.12 ? 0 : u < 0.62 ? 1 : u < 0.94 ? 2 : 3;
    const topics = r.shuffle([...names]).slice(0, n);
    const words = topics.map((t) => r.pick(TOPICS[t]));
    const frame = r.pick([NONE, ONE, TWO, THREE][n]);
    const text = frame.replace(/\{([Aabc])\}/g, (_, k) => (k === 'A' ? cap(words[0]) : words['abc'.indexOf(k)]));
    lines.push(JSON.stringify({ text: cap(text), labels: topics.sort() }));
  }
  return lines.join('\n') + '\n';
}

// --- tag.jsonl: part-of-speech tags from a tiny grammar ----------------------------------
// fish, watch, saw, park and read are nouns or verbs depending on where they stand.
function tagJsonl() {
  const r = rng(3);
  const L = {
    DET: ['the', 'a', 'every', 'this', 'that'],
    ADJ: ['small', 'old', 'happy', 'red', 'quiet', 'clever', 'green'],
    NOUN: ['dog', 'cat', 'girl', 'boy', 'teacher', 'river', 'garden', 'book', 'fish', 'watch', 'saw', 'park', 'ball', 'bird'],
    PRON: ['they', 'we', 'you'],
    VPAST: ['saw', 'liked', 'found', 'watched', 'chased', 'read', 'carried'],
    VIPAST: ['ran', 'slept', 'sang', 'waited'],
    VBASE: ['fish', 'watch', 'park', 'like', 'find', 'read', 'carry', 'see'],
    ADP: ['in', 'near', 'with', 'under', 'behind'],
    ADV: ['quickly', 'slowly', 'often', 'today', 'quietly'],
  };
  const out = [];
  const w = (tokens, tags, word, tag) => { tokens.push(word); tags.push(tag); };
  const np = (tk, tg) => {
    w(tk, tg, r.pick(L.DET), 'DET');
    if (r.chance(0.4)) w(tk, tg, r.pick(L.ADJ), 'ADJ');
    w(tk, tg, r.pick(L.NOUN), 'NOUN');
  };
  for (let i = 0; i < 300; i++) {
    const tk = [];
    const tg = [];
    if (r.chance(0.6)) {
      np(tk, tg);
      if (r.chance(0.15)) { w(tk, tg, 'and', 'CONJ'); np(tk, tg); }
      if (r.chance(0.7)) { w(tk, tg, r.pick(L.VPAST), 'VERB'); np(tk, tg); }
      else w(tk, tg, r.pick(L.VIPAST), 'VERB');
    } else {
      w(tk, tg, r.pick(L.PRON), 'PRON');
      w(tk, tg, r.pick(L.VBASE), 'VERB');
      if (r.chance(0.6)) np(tk, tg);
    }
    if (r.chance(0.4)) { w(tk, tg, r.pick(L.ADP), 'ADP'); np(tk, tg); }
    if (r.chance(0.3)) w(tk, tg, r.pick(L.ADV), 'ADV');
    w(tk, tg, '.', 'PUNCT');
    out.push(JSON.stringify({ tokens: tk, tags: tg }));
  }
  return out.join('\n') + '\n';
}

// --- regress.csv: two years of daily temperature and electricity demand -------------------
// temperature: yearly cycle + noise; demand: rises with heating and cooling away from 18 °C,
// drops at weekends, plus slowly wandering (AR(1)) noise.
function regressCsv() {
  const r = rng(4);
  const rows = ['date,temperature,demand'];
  const start = Date.UTC(2022, 0, 1);
  let drift = 0;
  for (let d = 0; d < 730; d++) {
    const date = new Date(start + d * 86400000);
    const temp = 11 + 9 * Math.sin((2 * Math.PI * (d - 105)) / 365.25) + 2 * r.normal();
    drift = 0.8 * drift + 8 * r.normal();
    const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6;
    const demand = 520 + 14 * Math.abs(temp - 18) - (weekend ? 70 : 0) + drift;
    rows.push(`${date.toISOString().slice(0, 10)},${temp.toFixed(1)},${demand.toFixed(1)}`);
  }
  return rows.join('\n') + '\n';
}

/** The generated files: name → content. */
export function generate() {
  return {
    'classify.jsonl': classifyJsonl(),
    'classify.csv': classifyCsv(),
    'multilabel.jsonl': multilabelJsonl(),
    'tag.jsonl': tagJsonl(),
    'regress.csv': regressCsv(),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const [name, content] of Object.entries(generate())) writeFileSync(join(here, name), content);
}
