"""Open IMAP and SMTP connections over TLS or STARTTLS; every failure becomes a Vietnamese `Lỗi … Thử …`."""
from __future__ import annotations

import imaplib
import smtplib
import socket
import ssl

from thidua.errors import ThiDuaError
from thidua.mail.settings import MailSettings, password, require_secure

TIMEOUT_S = 30


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise ThiDuaError(f"Không đọc được tệp chứng chỉ {ca_file}: {exc}.", "Chỉ đúng tệp .pem của máy chủ thư.") from exc


def _network_error(exc: BaseException, what: str, host: str, port: int) -> ThiDuaError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ThiDuaError(f"Không tin được chứng chỉ TLS của máy chủ {what} {host}:{port} ({exc.verify_message}).",
                           "Kiểm tra tên máy chủ; nếu máy chủ của cơ quan dùng chứng chỉ riêng, chỉ tệp chứng chỉ "
                           "bằng ca_file trong mục [mail] của tệp cài đặt (hoặc --ca-file).")
    if isinstance(exc, ssl.SSLError):
        return ThiDuaError(f"Không thiết lập được kết nối mã hóa (TLS) với máy chủ {what} {host}:{port}: {exc.reason or exc}.",
                           "Kiểm tra kiểu bảo mật: cổng 993/465 dùng ssl, cổng 143/587 dùng starttls.")
    if isinstance(exc, socket.gaierror):
        return ThiDuaError(f"Không tìm thấy máy chủ {what} {host}.", "Kiểm tra tên máy chủ và kết nối Internet.")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return ThiDuaError(f"Máy chủ {what} {host}:{port} không trả lời sau {TIMEOUT_S} giây.",
                           "Kiểm tra kết nối mạng, tường lửa và số cổng, rồi thử lại.")
    return ThiDuaError(f"Không kết nối được máy chủ {what} {host}:{port}: {getattr(exc, 'strerror', None) or exc}.",
                       "Kiểm tra tên máy chủ, số cổng và kết nối mạng, rồi thử lại.")


def open_imap(s: MailSettings) -> imaplib.IMAP4:
    """A logged-in IMAP connection to the office's mailbox."""
    if not s.host or not s.user:
        raise ThiDuaError("Chưa cài đặt hộp thư (máy chủ, tên đăng nhập).",
                          "Dùng --host và --user, hoặc điền mục [mail] trong tệp thidua.toml cạnh sổ làm việc.")
    require_secure(s.host, s.security, "hộp thư")
    secret = password(s.user, s.host, s.password_file)
    port = s.imap_port
    try:
        if s.security == "ssl":
            conn = imaplib.IMAP4_SSL(s.host, port, ssl_context=tls_context(s.ca_file), timeout=TIMEOUT_S)
        else:
            conn = imaplib.IMAP4(s.host, port, timeout=TIMEOUT_S)
            if s.security == "starttls":
                conn.starttls(ssl_context=tls_context(s.ca_file))
    except (OSError, imaplib.IMAP4.error) as exc:
        if isinstance(exc, imaplib.IMAP4.error):
            raise ThiDuaError(f"Máy chủ hộp thư {s.host}:{port} không hỗ trợ STARTTLS: {exc}.",
                              "Dùng --security ssl (cổng 993).") from exc
        raise _network_error(exc, "hộp thư", s.host, port) from exc
    try:
        conn.login(s.user, secret)
    except imaplib.IMAP4.error as exc:
        _close(conn)
        raise ThiDuaError(f"Hộp thư {s.host} từ chối đăng nhập của {s.user} (sai tên hoặc mật khẩu).",
                          "Kiểm tra tên đăng nhập; với Gmail/Outlook dùng mật khẩu ứng dụng (app password), "
                          "không dùng mật khẩu thường.") from exc
    except OSError as exc:
        raise _network_error(exc, "hộp thư", s.host, port) from exc
    return conn


def _close(conn) -> None:
    try:
        conn.logout()
    except Exception:           # closing a broken connection: nothing more to do
        pass


def close_imap(conn: imaplib.IMAP4) -> None:
    _close(conn)


def open_smtp(s: MailSettings) -> smtplib.SMTP:
    """An SMTP connection ready to send (logged in when the server offers AUTH)."""
    host = s.smtp_host or s.host
    if not host:
        raise ThiDuaError("Chưa cài đặt máy chủ gửi thư (SMTP).",
                          "Điền smtp_host trong mục [mail] của tệp thidua.toml cạnh sổ làm việc, hoặc dùng --host.")
    require_secure(host, s.smtp_security, "gửi thư")
    port = s.smtp_port_
    user = s.smtp_user or s.user
    try:
        if s.smtp_security == "ssl":
            conn = smtplib.SMTP_SSL(host, port, context=tls_context(s.ca_file), timeout=TIMEOUT_S)
        else:
            conn = smtplib.SMTP(host, port, timeout=TIMEOUT_S)
            if s.smtp_security == "starttls":
                conn.starttls(context=tls_context(s.ca_file))
        conn.ehlo_or_helo_if_needed()
    except smtplib.SMTPNotSupportedError as exc:
        raise ThiDuaError(f"Máy chủ gửi thư {host}:{port} không hỗ trợ STARTTLS.", "Dùng smtp_security = \"ssl\" (cổng 465).") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise _network_error(exc, "gửi thư", host, port) from exc
    if user and conn.has_extn("auth"):
        try:
            conn.login(user, password(user, host, s.password_file))
        except smtplib.SMTPAuthenticationError as exc:
            conn.close()
            raise ThiDuaError(f"Máy chủ gửi thư {host} từ chối đăng nhập của {user} (sai tên hoặc mật khẩu).",
                              "Dùng mật khẩu ứng dụng (app password) của hộp thư văn phòng.") from exc
    return conn
