/**
 * Test helpers: tiny XQuAD-shaped data generated at test time (nothing named like the real XQuAD
 * files is committed: `writeXquadFixture` lays the files out under their real names in a temporary
 * folder), and a temporary cache folder so fixture models and embeddings never touch the user's.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SquadDataset } from "@crossrank/datasets";

/** Six made-up topics with their words in English, German and Spanish. */
const TOPICS = [
  { title: "Rivers", en: ["river", "water", "bridge", "boat", "valley", "fish"], de: ["Fluss", "Wasser", "Brücke", "Boot", "Tal", "Fisch"], es: ["río", "agua", "puente", "barco", "valle", "pez"] },
  { title: "Music", en: ["music", "piano", "song", "concert", "orchestra", "singer"], de: ["Musik", "Klavier", "Lied", "Konzert", "Orchester", "Sänger"], es: ["música", "piano", "canción", "concierto", "orquesta", "cantante"] },
  { title: "Football", en: ["football", "goal", "team", "stadium", "player", "coach"], de: ["Fußball", "Tor", "Mannschaft", "Stadion", "Spieler", "Trainer"], es: ["fútbol", "gol", "equipo", "estadio", "jugador", "entrenador"] },
  { title: "Volcanoes", en: ["volcano", "lava", "mountain", "ash", "crater", "eruption"], de: ["Vulkan", "Lava", "Berg", "Asche", "Krater", "Ausbruch"], es: ["volcán", "lava", "montaña", "ceniza", "cráter", "erupción"] },
  { title: "Railways", en: ["railway", "train", "station", "track", "engine", "ticket"], de: ["Eisenbahn", "Zug", "Bahnhof", "Gleis", "Lokomotive", "Fahrkarte"], es: ["ferrocarril", "tren", "estación", "vía", "locomotora", "billete"] },
  { title: "Chemistry", en: ["chemistry", "acid", "salt", "metal", "reaction", "crystal"], de: ["Chemie", "Säure", "Salz", "Metall", "Reaktion", "Kristall"], es: ["química", "ácido", "sal", "metal", "reacción", "cristal"] },
] as const;

const NAMES = ["Aldora", "Belmont", "Corvina", "Dunmere", "Elsworth", "Fenwick"];

type Lang = "en" | "de" | "es";

function paragraphText(lang: Lang, words: readonly string[], name: string, year: number): string {
  const [a, b, c, d] = words;
  switch (lang) {
    case "en":
      return `The ${a} and the ${b} of ${name} were famous in ${year}. Many visitors saw the ${c} near the ${d}.`;
    case "de":
      return `${a} und ${b} von ${name} waren ${year} berühmt. Viele Besucher sahen ${c} neben ${d}.`;
    case "es":
      return `El ${a} y el ${b} de ${name} eran famosos en ${year}. Muchos visitantes vieron el ${c} cerca del ${d}.`;
  }
}

function questionText(lang: Lang, word: string, name: string, k: number): string {
  if (k === 0) return lang === "en" ? `When was the ${word} of ${name} famous?` : lang === "de" ? `Wann war ${word} von ${name} berühmt?` : `¿Cuándo fue famoso el ${word} de ${name}?`;
  return lang === "en" ? `What did visitors see near the ${word} in ${name}?` : lang === "de" ? `Was sahen Besucher neben ${word} in ${name}?` : `¿Qué vieron los visitantes cerca del ${word} en ${name}?`;
}

/** A parallel XQuAD-shaped dataset: `articles` articles × 2 paragraphs × 2 questions, in `lang`. */
export function xquadFixture(lang: Lang, articles = 6): SquadDataset {
  return {
    version: "1.1",
    data: Array.from({ length: articles }, (_, ai) => {
      const topic = TOPICS[ai % TOPICS.length]!;
      const words = topic[lang];
      const name = NAMES[ai % NAMES.length]!;
      return {
        title: topic.title,
        paragraphs: [0, 1].map((pi) => {
          const w = [0, 1, 2, 3].map((k) => words[(pi * 2 + k) % words.length]!);
          const year = 1800 + ai * 10 + pi;
          const context = paragraphText(lang, w, name, year);
          return {
            context,
            qas: [0, 1].map((k) => {
              const answer = k === 0 ? String(year) : w[2]!;
              return { id: `q${ai}-${pi}-${k}`, question: questionText(lang, k === 0 ? w[0]! : w[3]!, name, k), answers: [{ answer_start: context.indexOf(answer), text: answer }] };
            }),
          };
        }),
      };
    }),
  };
}

/** Writes xquad.<lang>.json for each language into `dir` (the names the loaders look for). */
export async function writeXquadFixture(dir: string, langs: readonly Lang[] = ["en", "de", "es"], articles = 6): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const lang of langs) await writeFile(join(dir, `xquad.${lang}.json`), JSON.stringify(xquadFixture(lang, articles)));
  return dir;
}

/** A temporary folder, with CROSSRANK_CACHE_DIR and CROSSRANK_OFFLINE set while it lives; `done` restores them. */
export async function testEnvironment(): Promise<{ dir: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "crossrank-distill-"));
  const saved = { CROSSRANK_CACHE_DIR: process.env.CROSSRANK_CACHE_DIR, CROSSRANK_OFFLINE: process.env.CROSSRANK_OFFLINE };
  process.env.CROSSRANK_CACHE_DIR = join(dir, "crossrank-cache");
  process.env.CROSSRANK_OFFLINE = "1";
  return {
    dir,
    done: async () => {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
