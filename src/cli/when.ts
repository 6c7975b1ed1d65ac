import { InvalidArgumentError } from 'commander';
import { defineMessages, language } from '../i18n/index.js';
import type { Lang } from '../i18n/index.js';

const m = defineMessages({
  en: {
    badSince: 'use a duration such as 30m, 24h or 7d, or a date such as 2026-11-01',
    justNow: 'just now',
    minutes: '{n} min ago',
    hours: '{n} h ago',
    days: '{n} days ago',
    never: 'never',
  },
  tr: {
    badSince: '30m, 24h, 7d gibi bir süre ya da 2026-11-01 gibi bir tarih yazın',
    justNow: 'az önce',
    minutes: '{n} dk önce',
    hours: '{n} sa önce',
    days: '{n} gün önce',
    never: 'hiç',
  },
});

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since 24h|7d|2026-11-01|2026-11-01T08:00` as an ISO timestamp (the form the database stores). */
export function parseSince(value: string, now = Date.now()): string {
  const duration = /^(\d+)\s*([mhdw])$/i.exec(value.trim());
  if (duration) return new Date(now - Number(duration[1]) * UNIT_MS[duration[2]!.toLowerCase()]!).toISOString();
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value.trim()) ? new Date(`${value.trim()}T00:00:00`) : new Date(value);
  if (!Number.isNaN(date.getTime()) && /^\d{4}-\d{2}-\d{2}/.test(value.trim())) return date.toISOString();
  throw new InvalidArgumentError(m('badSince'));
}

/** "22.11.2026 14:05" in Turkish, "2026-11-22 14:05" in English, local time. */
export function formatTime(iso: string | null | undefined, lang: Lang = language()): string {
  if (!iso) return m('never', {}, lang);
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  const time = `${p(d.getHours())}:${p(d.getMinutes())}`;
  return lang === 'tr'
    ? `${p(d.getDate())}.${p(d.getMonth() + 1)}.${d.getFullYear()} ${time}`
    : `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${time}`;
}

/** "12 min ago" / "12 dk önce". */
export function formatAgo(iso: string | null | undefined, now = Date.now(), lang: Lang = language()): string {
  if (!iso) return m('never', {}, lang);
  const minutes = Math.floor((now - new Date(iso).getTime()) / 60_000);
  if (minutes < 1) return m('justNow', {}, lang);
  if (minutes < 60) return m('minutes', { n: minutes }, lang);
  if (minutes < 48 * 60) return m('hours', { n: Math.floor(minutes / 60) }, lang);
  return m('days', { n: Math.floor(minutes / 1440) }, lang);
}
