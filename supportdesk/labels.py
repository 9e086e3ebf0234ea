"""Words, not codes: every code support meets (order, attempt, outbox and access statuses, the
outcome of a Midtrans notification, the result of a reconciliation) as an Indonesian label, a
one-line "what should support do now", and a tone for its badge.

Presentation only: the codes themselves stay the contract in the models and services. A code
added there without a label here still shows (as the code, with a "tanya tim teknis" hint),
and `supportdesk/tests/test_labels.py` fails until it gets words.
"""

from dataclasses import dataclass

# Tones map to badge colours in static/css/admin-support.css.
OK, INFO, WARN, BAD, MUTED = "ok", "info", "warn", "bad", "muted"


@dataclass(frozen=True)
class Label:
    code: str
    text: str
    todo: str
    tone: str = INFO


def _table(tone_text_todo: dict[str, tuple[str, str, str]]) -> dict[str, Label]:
    return {
        code: Label(code, text, todo, tone) for code, (tone, text, todo) in tone_text_todo.items()
    }


ORDER_STATUS = _table(
    {
        "CREATED": (
            MUTED,
            "Dibuat, belum ke Midtrans",
            "Pelanggan belum sampai ke halaman bayar; minta ia membuka tautan status pesanan.",
        ),
        "PENDING_PAYMENT": (
            WARN,
            "Menunggu pembayaran",
            "Tunggu pembayaran; jika pelanggan bilang sudah bayar, jalankan rekonsiliasi.",
        ),
        "PAID": (
            OK,
            "Lunas",
            "Tidak ada yang perlu dilakukan; jika akses belum diterima, kirim ulang pesan akses.",
        ),
        "FAILED": (
            BAD,
            "Gagal",
            "Pembayaran tidak jadi; bantu pelanggan membuat order baru.",
        ),
        "EXPIRED": (
            MUTED,
            "Kedaluwarsa",
            "Waktu bayar habis; bantu pelanggan membuat order baru.",
        ),
        "REFUNDED": (
            INFO,
            "Dikembalikan",
            "Dana sudah dikembalikan dan akses dicabut; tidak ada tindakan lagi.",
        ),
    }
)

ATTEMPT_STATUS = _table(
    {
        "CREATED": (
            MUTED,
            "Menunggu Snap",
            "Snap belum menjawab; jika lebih dari beberapa menit, pelanggan boleh coba lagi.",
        ),
        "PENDING": (WARN, "Menunggu pembayaran", "Tunggu pelanggan membayar di Midtrans."),
        "COMPLETED": (OK, "Berhasil dibayar", "Tidak ada yang perlu dilakukan."),
        "FAILED": (
            MUTED,
            "Gagal / ditutup",
            "Percobaan ini selesai; pelanggan bisa mencoba lagi selama order masih berlaku.",
        ),
    }
)

OUTBOX_STATUS = _table(
    {
        "PENDING": (INFO, "Antre", "Akan dikirim sebentar lagi; tidak perlu tindakan."),
        "SENDING": (INFO, "Sedang dikirim", "Tunggu beberapa menit."),
        "SENT": (
            OK,
            "Terkirim",
            "Jika pelanggan tidak menerimanya, periksa alamat lalu kirim ulang.",
        ),
        "RETRYING": (
            WARN,
            "Akan dicoba lagi",
            "Penyedia menolak sementara; sistem mencoba lagi otomatis.",
        ),
        "FAILED": (BAD, "Gagal", "Periksa alamat/nomor pelanggan, lalu kirim ulang."),
        "DLQ": (
            BAD,
            "Menyerah (DLQ)",
            "Gagal terus; periksa alamat/nomor dan error terakhir, lalu kirim ulang.",
        ),
        "CANCELLED": (
            MUTED,
            "Dibatalkan (tidak relevan lagi)",
            "Tidak dikirim karena status order berubah; tidak perlu tindakan.",
        ),
    }
)

ENTITLEMENT_STATUS = _table(
    {
        "ACTIVE": (
            OK,
            "Aktif",
            "Pelanggan bisa membuka kursus; kirim ulang pesan akses jika perlu.",
        ),
        "SUSPENDED": (WARN, "Ditangguhkan", "Akses ditahan; tanyakan alasannya ke tim."),
        "REVOKED": (MUTED, "Dicabut", "Akses sudah dicabut (refund/batal); tidak ada tindakan."),
    }
)

# `PaymentEvent.outcome` (payments.processing.Outcome) and the reconciliation results.
OUTCOME = _table(
    {
        "paid": (OK, "Lunas: akses diberikan", "Tidak ada yang perlu dilakukan."),
        "paid_late": (
            WARN,
            "Lunas terlambat: akses tetap diberikan",
            "Uang sudah masuk setelah order ditutup; pastikan pelanggan menerima akses.",
        ),
        "already_paid": (OK, "Sudah lunas sebelumnya", "Tidak ada yang perlu dilakukan."),
        "double_payment": (
            BAD,
            "Dibayar dua kali",
            "Pelanggan membayar dua percobaan; ajukan refund untuk yang kedua di Midtrans.",
        ),
        "duplicate": (
            MUTED,
            "Sudah tercatat sebelumnya (duplikat)",
            "Tidak ada yang perlu dilakukan; Midtrans mengirim ulang hal yang sama.",
        ),
        "unknown_order": (
            BAD,
            "Order tidak dikenal",
            "Midtrans menyebut order yang tidak kita buat; laporkan ke tim teknis.",
        ),
        "amount_mismatch": (
            BAD,
            "Jumlah tidak cocok: tidak diterapkan",
            "Jangan beri akses; cek transaksi di portal Midtrans dan laporkan ke tim.",
        ),
        "status_code_mismatch": (
            BAD,
            "Kombinasi status tidak sah: tidak diterapkan",
            "Laporkan ke tim teknis; cek transaksi di portal Midtrans.",
        ),
        "unrecognised_combination": (
            BAD,
            "Kombinasi status Midtrans tidak dikenal: tidak diterapkan",
            "Tim ops sudah diberi tahu; cek transaksi di portal Midtrans sebelum menjawab.",
        ),
        "reversal_alerted": (
            BAD,
            "Pembayaran lunas dibatalkan Midtrans (reversal)",
            "Order tetap lunas; tim ops sudah diberi tahu dan akan memutuskan akses/refund.",
        ),
        "needs_review": (
            WARN,
            "Perlu dicek (fraud challenge)",
            "Buka transaksi di portal Midtrans dan setujui atau tolak.",
        ),
        "pending_recorded": (
            INFO,
            "Menunggu pembayaran: detail bayar dicatat",
            "Pelanggan sudah memilih metode; tunggu ia membayar.",
        ),
        "attempt_failed": (
            WARN,
            "Percobaan ini gagal; order masih bisa dibayar",
            "Minta pelanggan mencoba lagi dari halaman status pesanan.",
        ),
        "order_failed": (BAD, "Order gagal", "Bantu pelanggan membuat order baru."),
        "order_expired": (MUTED, "Order kedaluwarsa", "Bantu pelanggan membuat order baru."),
        "refunded": (INFO, "Dikembalikan: akses dicabut", "Tidak ada tindakan lagi."),
        "already_refunded": (MUTED, "Sudah dikembalikan sebelumnya", "Tidak ada tindakan."),
        "refund_not_applied": (
            WARN,
            "Refund tidak diterapkan",
            "Cek di portal Midtrans apakah refund penuh; laporkan ke tim.",
        ),
        "ops_alerted": (
            WARN,
            "Diteruskan ke tim ops",
            "Tim ops sudah diberi tahu (refund sebagian/chargeback); tunggu arahan mereka.",
        ),
        "ignored_order_paid": (
            MUTED,
            "Diabaikan: order sudah lunas",
            "Tidak ada yang perlu dilakukan; order lunas tidak pernah mundur.",
        ),
        "ignored_order_refunded": (
            MUTED,
            "Diabaikan: order sudah dikembalikan",
            "Tidak ada yang perlu dilakukan.",
        ),
        "ignored_stale": (
            MUTED,
            "Diabaikan: kabar lama datang terlambat",
            "Tidak ada yang perlu dilakukan.",
        ),
        "ignored_unknown_status": (
            WARN,
            "Status Midtrans tidak dikenal: tidak diterapkan",
            "Laporkan ke tim teknis.",
        ),
        # Reconciliation results that are not processing outcomes.
        "not_started": (
            MUTED,
            "Belum dimulai di Midtrans",
            "Pelanggan belum memilih metode bayar; minta ia menyelesaikan di halaman bayar.",
        ),
        "error": (
            BAD,
            "Midtrans tidak bisa ditanya",
            "Coba rekonsiliasi lagi beberapa menit lagi.",
        ),
    }
)

SOURCE = {"webhook": "Notifikasi Midtrans", "reconciliation": "Jawaban Midtrans (rekonsiliasi)"}
CHANNEL = {"EMAIL": "email", "WHATSAPP": "WhatsApp"}


def label_for(table: dict[str, Label], code: str) -> Label:
    """The label of `code`, or a readable stand-in for a code nobody has put into words yet."""
    if code in table:
        return table[code]
    if not code:
        return Label("", "-", "Belum ada keterangan.", MUTED)
    return Label(code, code, "Kode belum punya keterangan; tanyakan ke tim teknis.", MUTED)


def outcome(code: str) -> Label:
    return label_for(OUTCOME, code)


def order_status(code: str) -> Label:
    return label_for(ORDER_STATUS, code)


def attempt_status(code: str) -> Label:
    return label_for(ATTEMPT_STATUS, code)


def outbox_status(code: str) -> Label:
    return label_for(OUTBOX_STATUS, code)


def entitlement_status(code: str) -> Label:
    return label_for(ENTITLEMENT_STATUS, code)
