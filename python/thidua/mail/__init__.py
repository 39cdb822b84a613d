"""The office's mailbox as the inbox: fetch returned files (IMAP), send templates and reminders (SMTP)."""
