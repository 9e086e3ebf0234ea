"""The texts the shop starts with (Indonesian). The data migration copies them in once;
afterwards content editors own them in the admin and nothing overwrites their edits."""

PAGES = {
    "kontak": (
        "Kontak",
        """Ada pertanyaan tentang kursus, pembayaran, atau akses? Tim kami siap membantu.

- **WhatsApp**: cara tercepat, dibalas pada hari kerja pukul 09.00-17.00 WIB.
- **Email**: dibalas paling lambat 2 hari kerja.

Saat menghubungi kami tentang pesanan, sebutkan **nomor pesanan** (diawali `BF-`) yang ada di
email atau WhatsApp konfirmasi. Kami tidak akan pernah meminta kata sandi, PIN, atau kode OTP
bank/e-wallet kamu.
""",
    ),
    "syarat-ketentuan": (
        "Syarat & ketentuan",
        """Dengan membeli kursus di situs ini, kamu menyetujui syarat berikut.

## Yang dijual
Kursus online **"Buat Film Pakai AI"**: materi video dan teks yang dibuka di situs ini, dalam
paket Starter, Pro, atau Mentoring. Isi tiap paket tertulis di halaman utama saat kamu membeli.

## Harga dan pembayaran
Harga dalam rupiah dan sudah final saat pesanan dibuat. Pembayaran diproses oleh Midtrans
(Virtual Account, Mandiri Bill, GoPay, ShopeePay, DANA, QRIS). Pesanan yang tidak dibayar
sampai batas waktunya otomatis kedaluwarsa tanpa biaya.

## Akses kursus
Akses aktif otomatis begitu pembayaran terkonfirmasi. Kamu masuk dengan link masuk yang kami
kirim ke email dan WhatsApp yang kamu isi saat checkout. Akses berlaku seumur hidup kursus,
untuk pemakaian pribadi: akun dan materi tidak boleh dibagikan, dijual kembali, atau diunggah
ulang.

## Sesi mentoring
Untuk paket Mentoring, jadwal sesi disepakati lewat WhatsApp dalam 90 hari sejak pembayaran.

## Refund
Lihat [kebijakan refund](/kebijakan-refund/).

## Perubahan
Kami dapat memperbarui materi kursus dan syarat ini; perubahan tidak mengurangi isi paket yang
sudah kamu beli. Hukum yang berlaku adalah hukum Republik Indonesia.
""",
    ),
    "kebijakan-privasi": (
        "Kebijakan privasi",
        """Kami menghormati data pribadimu sesuai Undang-Undang Pelindungan Data Pribadi
(UU No. 27 Tahun 2022).

## Data yang kami simpan dan untuk apa
- **Nama, email, dan nomor WhatsApp**: untuk membuat pesanan, mengirim instruksi pembayaran,
  konfirmasi, link masuk kursus, dan menjawab pertanyaanmu.
- **Rincian pesanan dan pembayaran** (paket, jumlah, metode, referensi transaksi Midtrans):
  untuk memberi akses kursus, membuat kuitansi, menangani refund, dan memenuhi kewajiban
  pembukuan dan pajak.
- **Alamat IP dan jenis browser saat checkout**: untuk mencegah penipuan dan penyalahgunaan.
- **Kemajuan belajar** (pelajaran yang sudah selesai): untuk menampilkan progresmu.

Kami **tidak** menyimpan nomor kartu, PIN, atau kata sandi bank/e-wallet: pembayaran diproses
langsung oleh Midtrans.

## Dengan siapa data dibagikan
Hanya dengan pihak yang dibutuhkan untuk layanan ini: Midtrans (pembayaran), penyedia email dan
gateway WhatsApp (pengiriman pesan), dan penyedia server kami. Kami tidak menjual datamu.

## Berapa lama disimpan
Data pesanan disimpan selama diwajibkan peraturan pembukuan (10 tahun); data lain selama akunmu
aktif.

## Hakmu
Kamu berhak melihat, memperbaiki, atau meminta penghapusan data pribadimu, dan menarik
persetujuan. Kirim permintaan lewat halaman [kontak](/kontak/) dari email yang kamu pakai saat
membeli; kami proses dalam 3 x 24 jam kerja. Data yang wajib kami simpan menurut hukum (misalnya
catatan transaksi) kami simpan terpisah dan tidak dipakai untuk hal lain.
""",
    ),
    "kebijakan-refund": (
        "Kebijakan refund",
        """Kami ingin kamu puas dengan kursusnya.

- **Garansi 7 hari**: dalam 7 hari sejak pembayaran, kamu bisa minta uang kembali penuh
  selama belum menyelesaikan lebih dari 2 pelajaran dan (untuk paket Mentoring) belum
  mengikuti sesi mentoring.
- **Pembayaran ganda atau salah nominal**: selalu kami kembalikan kelebihannya.
- Ajukan lewat halaman [kontak](/kontak/) dengan menyebut nomor pesanan dan alasannya.
- Dana dikembalikan ke metode pembayaran semula (atau ke rekening atas namamu bila metodenya
  tidak mendukung refund) dalam 14 hari kerja setelah disetujui.
- Setelah refund, akses kursus dari pesanan itu dinonaktifkan.
""",
    ),
}

FAQ = [
    (
        "Bagaimana cara mengakses kursus setelah membayar?",
        "Begitu pembayaran terkonfirmasi, halaman pesanan langsung menampilkan tombol **Buka "
        "kursus**. Link masuk juga kami kirim ke email dan WhatsApp-mu.",
    ),
    (
        "Apakah saya perlu pengalaman membuat film atau memakai AI?",
        "Tidak. Kursus dimulai dari dasar dan setiap langkah ditunjukkan di video.",
    ),
    (
        "Berapa lama akses kursusnya?",
        "Seumur hidup. Kamu bisa belajar kapan saja dan mengulang materinya.",
    ),
    (
        "Alat AI apa yang dipakai? Apakah berbayar?",
        "Kami memakai alat yang punya paket gratis; versi berbayar hanya disarankan, tidak wajib.",
    ),
    (
        "Bisakah saya minta refund?",
        "Bisa, dalam 7 hari sejak pembayaran. Lihat [kebijakan refund](/kebijakan-refund/).",
    ),
    (
        "Metode pembayaran apa saja yang tersedia?",
        "Virtual Account BCA/BNI, Mandiri Bill, GoPay, ShopeePay, DANA, dan QRIS, diproses oleh "
        "Midtrans.",
    ),
]
