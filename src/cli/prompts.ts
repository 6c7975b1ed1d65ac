import { confirm, input, password, select } from '@inquirer/prompts';
import chalk from 'chalk';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FieldSpec } from '../driver/contract.js';
import { defineMessages, language } from '../i18n/index.js';
import { registerSecret } from '../secrets/redact.js';

const m = defineMessages({
  en: {
    required: 'This field is required.',
    url: 'Give the full address, starting with http:// or https://, e.g. https://erp.example.com/api.',
    urlCredentials: 'The address must not contain a user name or password: those belong in the secret store.',
    email: 'This does not look like an e-mail address (name@example.com).',
    integer: 'Give a whole number, digits only.',
    choice: 'Choose one of: {choices}.',
    path: 'There is no file at {path}.',
    keep: 'press Enter to keep the current one',
    notSet: '(not set)',
    navigate: 'move',
    select: 'choose',
    choiceDisabled: 'This option cannot be used here.',
    yesNo: 'Answer y or n.',
    chooseOne: '(choose one: this setting has no default)',
    mustChoose: 'This setting has no default: choose one of the answers.',
    yes: 'Yes',
    no: 'No',
  },
  tr: {
    required: 'Bu alan zorunludur.',
    url: 'Adresin tamamını http:// veya https:// ile başlayarak yazın, örneğin https://erp.example.com/api.',
    urlCredentials: 'Adres kullanıcı adı veya şifre içermemeli: bunlar gizli bilgi deposunda saklanır.',
    email: 'Bu bir e-posta adresine benzemiyor (ad@ornek.com).',
    integer: 'Yalnızca rakamlardan oluşan bir tam sayı yazın.',
    choice: 'Şunlardan birini seçin: {choices}.',
    path: '{path} konumunda dosya yok.',
    keep: 'mevcut değeri korumak için Enter',
    notSet: '(boş)',
    navigate: 'gezin',
    select: 'seç',
    choiceDisabled: 'Bu seçenek burada kullanılamaz.',
    yesNo: 'e (evet) veya h (hayır) yazın.',
    chooseOne: '(birini seçin: bu ayarın varsayılanı yok)',
    mustChoose: 'Bu ayarın varsayılanı yok: yanıtlardan birini seçin.',
    yes: 'Evet',
    no: 'Hayır',
  },
});

/**
 * Prompts only when a person is there to answer: both stdin and stdout are
 * terminals and neither --yes nor --json asked for a scripted run.
 */
export function canPrompt(options: { yes?: boolean | undefined; json?: boolean | undefined }): boolean {
  return !options.yes && !options.json && !!process.stdin.isTTY && !!process.stdout.isTTY;
}

/** Why `value` is not acceptable for `field`, in the current language; undefined when it is. */
export function fieldProblem(field: Pick<FieldSpec, 'kind' | 'choices'>, value: string): string | undefined {
  switch (field.kind) {
    case 'url': {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return m('url');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return m('url');
      if (url.username || url.password) return m('urlCredentials');
      return undefined;
    }
    case 'email':
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value) ? undefined : m('email');
    case 'integer':
      return /^\d+$/.test(value) ? undefined : m('integer');
    case 'choice':
      return !field.choices || field.choices.includes(value) ? undefined : m('choice', { choices: field.choices.join(', ') });
    case 'path':
      return isFile(resolve(value)) ? undefined : m('path', { path: resolve(value) });
    default:
      return undefined;
  }
}

/** The form a value is saved in: URLs without a trailing slash, paths absolute (runs start from another directory). */
export function normalizeFieldValue(field: Pick<FieldSpec, 'kind'>, value: string): string {
  if (field.kind === 'url') return new URL(value).href.replace(/\/$/, '');
  if (field.kind === 'path') return resolve(value);
  return value;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export const fieldLabel = (field: Pick<FieldSpec, 'label' | 'labelTr'>): string => (language() === 'tr' ? field.labelTr : field.label);

const theme = () => ({
  style: {
    keysHelpTip: (keys: [string, string][]) =>
      keys.map(([key, action]) => `${chalk.bold(key)} ${chalk.dim(action === 'navigate' ? m('navigate') : action === 'select' ? m('select') : action)}`).join(chalk.dim(' • ')),
  },
  i18n: { disabledError: m('choiceDisabled') },
});

/**
 * Asks for one field. `current` is what the connection has now (or what was
 * typed before a failed test): Enter keeps it. Secrets are typed masked, never
 * echoed, and registered for redaction as soon as they are read. Returns
 * undefined for an optional field left empty.
 */
export async function askField(field: FieldSpec, current: string | undefined): Promise<string | undefined> {
  if (field.help) process.stdout.write(`${chalk.dim(`  ${field.help[language()]}`)}\n`);
  const label = fieldLabel(field);
  if (field.secret) {
    const value = await password({
      message: current ? `${label} (${m('keep')})` : label,
      mask: '*',
      // The value is never shown, not even on request: a shop PC's screen is often shared.
      toggleMask: false,
      validate: (typed) => (typed === '' && (current || !field.required) ? true : typed === '' ? m('required') : (fieldProblem(field, typed) ?? true)),
    });
    registerSecret(value);
    return value === '' ? current : value;
  }
  if (field.kind === 'choice' && field.choices) {
    // A required choice without a default (is the price VAT-included?) starts on no answer, so Enter alone cannot choose one.
    const unanswered = field.required && field.default === undefined && current === undefined;
    const blank = unanswered ? [{ value: '', name: m('chooseOne') }] : field.required || field.default !== undefined ? [] : [{ value: '', name: m('notSet') }];
    // A yes/no setting is stored as true/false, and read as words in the person's language.
    const choices = [...blank, ...field.choices.map((value) => ({ value, name: value === 'true' ? m('yes') : value === 'false' ? m('no') : value }))];
    for (;;) {
      const value = await select({ message: label, choices, default: current ?? field.default ?? '', theme: theme() });
      if (value !== '' || !unanswered) return value === '' ? undefined : value;
      process.stdout.write(`${chalk.yellow(`  ${m('mustChoose')}`)}\n`);
    }
  }
  const value = await input({
    message: label,
    default: current ?? field.default,
    validate: (typed) => (typed === '' ? (field.required ? m('required') : true) : (fieldProblem(field, typed) ?? true)),
  });
  return value === '' ? undefined : normalizeFieldValue(field, value);
}

export interface Choice<T extends string> {
  value: T;
  name: string;
  description?: string;
  /** Why it cannot be chosen here, shown beside it. */
  disabled?: string;
}

export function askChoice<T extends string>(message: string, choices: readonly Choice<T>[], defaultValue: T | undefined): Promise<T> {
  return select<T>({ message, choices: choices.map((c) => ({ ...c, disabled: c.disabled ?? false })), default: defaultValue, theme: theme() });
}

export function askYesNo(message: string, defaultValue: boolean): Promise<boolean> {
  return confirm({
    message,
    default: defaultValue,
    theme: { keywords: { yes: m('yes'), no: m('no'), error: () => m('yesNo') } },
  });
}
