// The part of gettext-parser's API that ./gettext.ts uses (the package ships no types of its own).
declare module "gettext-parser" {
  interface Translation {
    msgid: string;
    msgctxt?: string;
    msgid_plural?: string;
    msgstr: string[];
  }
  interface Translations {
    charset: string;
    headers?: Record<string, string>;
    translations: Record<string, Record<string, Translation>>;
  }
  const gettextParser: {
    mo: {
      /** Parses a .mo file; false when the magic number is wrong. */
      parse(buffer: Buffer, defaultCharset?: string): Translations | false;
      compile(table: Translations): Buffer;
    };
  };
  export default gettextParser;
}
