/**
 * Full payment card numbers (PANs) anywhere in a text: the one place that decides what is one.
 * Manifests identify cards by the provider's card or customer id, and reasons are free text; a card
 * number in either is a data-protection incident, so it is refused before anything is recorded or
 * sent (manifest validation, typed reasons), and every message, quoted value and report shows it
 * only as its last four digits.
 *
 * A card number is 13 to 19 digits passing the Luhn check, with anything but a digit around it
 * ("card 4111111111111111.", "$4111 1111 1111 1111"), written unbroken or in groups of at most 6
 * digits joined by spaces or dashes ("4111 1111 1111 1111", "4111-1111-1111-1111", "3782 822463
 * 10005", "4111 - 1111 …"; any whitespace or Unicode dash).
 * - An unbroken run of digits is never cut: a 20-digit reference is not a card number, whatever 16
 *   of its digits would make.
 * - Cards are printed in groups of 4 to 6 digits. Longer groups joined by a dash are something else
 *   (a batch id 20261205-084001-…) and are not taken together.
 * - Any consecutive groups of a grouped run may be one, so a number followed by its expiry or
 *   security code ("4111 1111 1111 1111 12/26", "… 1111 123") is still found.
 */

const MIN_DIGITS = 13;
const MAX_DIGITS = 19;
const MAX_GROUP = 6;

/** A card number's place in the text ([start, end) in UTF-16 units) and the only digits ever shown. */
export interface CardNumberAt {
  start: number;
  end: number;
  lastFour: string;
}

// Shared by every text that holds none (nearly all): a million cells need not each allocate a list.
const NONE: readonly CardNumberAt[] = Object.freeze([]);

/** The card numbers in `text`, in order; overlapping candidates are one. */
export function findCardNumbers(text: string): readonly CardNumberAt[] {
  // Every cell of every row passes here: almost all have far fewer than 13 digits. Kept this small
  // so it is inlined where it is called.
  return hasEnoughDigits(text) ? cardNumbersIn(text) : NONE;
}

/** Splits `text` into runs of digit groups joined by separators, and looks for card numbers in each. */
function cardNumbersIn(text: string): readonly CardNumberAt[] {
  let found: CardNumberAt[] | undefined;
  let run: Group[] = [];
  const endRun = () => {
    const numbers = cardNumbersInRun(text, run);
    if (numbers.length > 0) (found ??= []).push(...numbers);
  };
  for (let i = 0; i < text.length; ) {
    if (!isDigit(text.charCodeAt(i))) {
      i += 1;
      continue;
    }
    let end = i + 1;
    while (end < text.length && isDigit(text.charCodeAt(end))) end += 1;
    if (run.length > 0 && !joined(text, run[run.length - 1]!.end, i)) {
      endRun();
      run = [];
    }
    run.push({ start: i, end });
    i = end;
  }
  endRun();
  return found ?? NONE;
}

/** `text` with each card number replaced by its last four digits: `card …1111 was lost`. */
export function maskCardNumbers(text: string): string {
  const found = findCardNumbers(text);
  if (found.length === 0) return text;
  let masked = '';
  let from = 0;
  for (const number of found) {
    masked += `${text.slice(from, number.start)}${shownAs(number)}`;
    from = number.end;
  }
  return masked + text.slice(from);
}

/** What a refusal says of the numbers it found: `holds what looks like a full card number (…1111)`. */
export function describeCardNumbers(found: readonly CardNumberAt[]): string {
  return `holds what looks like a full card number (${found.map(shownAs).join(', ')})`;
}

const shownAs = (number: CardNumberAt): string => `…${number.lastFour}`;

/** Unbroken digits: [start, end) in the text. */
interface Group {
  start: number;
  end: number;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** At least 13 digits, counted without building a string, stopping as soon as the answer is known. */
function hasEnoughDigits(text: string): boolean {
  const { length } = text;
  if (length < MIN_DIGITS) return false;
  let digits = 0;
  for (let i = 0; i < length; i += 1) {
    if (isDigit(text.charCodeAt(i))) {
      digits += 1;
      if (digits === MIN_DIGITS) return true;
    } else if (digits + (length - i - 1) < MIN_DIGITS) {
      return false;
    }
  }
  return false;
}

/** The text between two groups joins them into one number: spaces and dashes only. */
function joined(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i += 1) if (!isSeparator(text.charCodeAt(i))) return false;
  return true;
}

// What people and copy-paste put between groups: whitespace (JavaScript's \s: tabs, line breaks,
// no-break and Unicode spaces), the hyphen-minus, the Unicode dashes and the minus sign.
function isSeparator(c: number): boolean {
  if (c < 0x80) return c === 32 || c === 45 || (c >= 9 && c <= 13);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || (c >= 0x2010 && c <= 0x2015) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x2212 || c === 0x3000 || c === 0xfeff;
}

/**
 * The card numbers among consecutive groups of one run: each span of groups holding 13–19 digits
 * that passes Luhn, one group of any length or several of at most 6 digits each. Spans that overlap
 * are merged, so no digit of any of them is shown but the last four. Each digit is read once per
 * span start: a 10 KB cell of single digits and spaces makes thousands of candidates.
 */
function cardNumbersInRun(text: string, groups: readonly Group[]): CardNumberAt[] {
  const found: CardNumberAt[] = [];
  for (let first = 0; first < groups.length; first += 1) {
    let digits = 0;
    const luhn = new LuhnSum();
    for (let last = first; last < groups.length; last += 1) {
      const group = groups[last]!;
      if (last > first && (length(groups[first]!) > MAX_GROUP || length(group) > MAX_GROUP)) break;
      digits += length(group);
      if (digits > MAX_DIGITS) break;
      for (let i = group.start; i < group.end; i += 1) luhn.add(text.charCodeAt(i) - 48);
      if (digits < MIN_DIGITS || !luhn.passes()) continue;
      const number = { start: groups[first]!.start, end: group.end, lastFour: lastFourDigits(text, groups, last) };
      const previous = found[found.length - 1];
      if (previous !== undefined && number.start < previous.end) {
        // Overlapping: one span, shown by the last four digits of whichever ends later.
        if (number.end > previous.end) Object.assign(previous, { end: number.end, lastFour: number.lastFour });
      } else {
        found.push(number);
      }
    }
  }
  return found;
}

const length = (group: Group): number => group.end - group.start;

// A digit doubled, less 9 when that makes two digits.
const DOUBLED = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];

/**
 * The check digit every card number carries (ISO/IEC 7812), digits added left to right: every
 * second digit from the right is doubled, and which those are depends on how many follow, so both
 * sums are kept: with the last digit added as it is (the Luhn sum), and with it doubled.
 */
class LuhnSum {
  private plain = 0;
  private doubled = 0;

  add(digit: number): void {
    const plain = this.doubled + digit;
    this.doubled = this.plain + DOUBLED[digit]!;
    this.plain = plain;
  }

  passes(): boolean {
    return this.plain % 10 === 0;
  }
}

/** The last four digits up to the end of group `last`, across groups if it is shorter. */
function lastFourDigits(text: string, groups: readonly Group[], last: number): string {
  let four = '';
  for (let g = last; four.length < 4; g -= 1) four = text.slice(Math.max(groups[g]!.start, groups[g]!.end - (4 - four.length)), groups[g]!.end) + four;
  return four;
}
