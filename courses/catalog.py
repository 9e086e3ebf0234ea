"""The catalog the site starts with: one course, its lessons and its packages."""

COURSE = {
    "slug": "buat-film-pakai-ai",
    "title": "Buat Film Pakai AI",
    "tagline": "Dari ide ke film pendek pertamamu dengan bantuan AI",
    "description": (
        "Kursus online langkah demi langkah: menulis naskah bersama AI, membuat storyboard dan "
        "visual, mengisi suara dan musik, lalu menyunting dan merilis film pendekmu."
    ),
}

# (slug, title, summary, duration in minutes, body in Markdown). The video URL is added by a
# content editor in the admin once the video is uploaded.
LESSONS = [
    (
        "pengenalan",
        "Pengenalan: film pendek di era AI",
        "Apa yang bisa dan belum bisa AI lakukan.",
        18,
        """Di modul pertama kita memetakan alur kerja membuat film pendek dengan AI, dari ide
sampai rilis, dan menyiapkan peralatanmu.

## Yang kamu pelajari
- Alur kerja: **ide → naskah → storyboard → visual → suara → editing → rilis**.
- Di mana AI membantu (draf, variasi, visual, suara) dan di mana keputusanmu tetap utama
  (cerita, selera, etika).
- Alat yang dipakai di kursus ini, semuanya punya paket gratis.
- Hak cipta dan etika: memakai wajah, suara, dan karya orang lain.

## Tugas
Tulis tiga ide film pendek berdurasi 1-3 menit, masing-masing dalam satu kalimat.
""",
    ),
    (
        "naskah",
        "Menulis naskah bersama AI",
        "Dari premis ke naskah tiga babak.",
        32,
        """Naskah adalah fondasi. Kita memakai AI sebagai rekan menulis, bukan penulis pengganti.

## Yang kamu pelajari
- Mengubah ide menjadi **premis** yang jelas: tokoh, keinginan, hambatan.
- Struktur **tiga babak** untuk film 1-3 menit.
- Prompt untuk mencari variasi adegan, dialog, dan judul, lalu menyunting hasilnya.
- Format naskah sederhana: adegan, aksi, dialog.

## Tugas
Pilih satu ide dari modul 1 dan tulis naskah satu halaman.
""",
    ),
    (
        "storyboard",
        "Storyboard dan gaya visual",
        "Menyusun adegan dan menjaga konsistensi.",
        27,
        """Sebelum membuat gambar, rencanakan setiap shot supaya filmmu terasa utuh.

## Yang kamu pelajari
- Memecah naskah menjadi **daftar shot**: ukuran shot, sudut kamera, gerak.
- Membuat storyboard cepat dengan AI gambar.
- Menentukan **gaya visual** (warna, cahaya, era) dan menuliskannya sebagai "style guide".
- Menjaga tokoh tetap konsisten dari shot ke shot.

## Tugas
Buat storyboard 8-12 panel untuk naskahmu.
""",
    ),
    (
        "visual",
        "Membuat visual dan klip video",
        "Prompt, iterasi, dan memilih hasil terbaik.",
        41,
        """Modul terpanjang: mengubah storyboard menjadi gambar dan klip video bergerak.

## Yang kamu pelajari
- Anatomi prompt visual: subjek, aksi, lingkungan, kamera, gaya.
- Dari gambar diam ke **klip video** (image-to-video) dan mengatur gerak kamera.
- Iterasi yang hemat: kapan mengulang, kapan menyunting.
- Menyimpan dan menamai aset supaya editing nanti rapi.

## Tugas
Hasilkan semua klip untuk storyboard-mu (boleh kasar dulu).
""",
    ),
    (
        "suara",
        "Suara, dubbing, dan musik",
        "Narasi, dialog, efek suara, dan skor musik.",
        29,
        """Penonton memaafkan gambar yang kurang sempurna, tetapi tidak suara yang buruk.

## Yang kamu pelajari
- Merekam narasi sendiri dengan ponsel, atau memakai **suara AI** dengan izin yang jelas.
- Dubbing dialog dan menyelaraskan gerak bibir.
- Efek suara dan suasana (ambience) untuk tiap adegan.
- Membuat atau memilih **musik** bebas royalti.

## Tugas
Susun trek suara lengkap: dialog/narasi, efek, dan musik.
""",
    ),
    (
        "editing",
        "Editing dan rilis",
        "Menyunting, memberi teks, dan mengunggah filmmu.",
        35,
        """Semua bahan digabung menjadi film, lalu dirilis ke penonton.

## Yang kamu pelajari
- Menyunting di editor gratis: urutan, ritme, transisi.
- Koreksi warna sederhana supaya semua klip senada.
- **Subtitle** bahasa Indonesia dan Inggris.
- Ekspor untuk YouTube, Instagram, dan TikTok; judul, thumbnail, dan deskripsi.

## Tugas
Rilis film pendekmu dan bagikan tautannya di grup diskusi (paket Pro dan Mentoring).
""",
    ),
]

PACKAGES = [
    {
        "code": "starter",
        "name": "Paket Starter",
        "price": 299_000,
        "sort_order": 1,
        "description": "Semua materi video kursus, akses seumur hidup.",
        "features": ["6 modul video", "Template prompt", "Akses seumur hidup"],
    },
    {
        "code": "pro",
        "name": "Paket Pro",
        "price": 499_000,
        "sort_order": 2,
        "description": "Materi lengkap plus proyek akhir dan grup diskusi.",
        "features": ["Semua isi Starter", "Proyek film akhir", "Grup diskusi alumni"],
    },
    {
        "code": "mentoring",
        "name": "Paket Mentoring",
        "price": 999_000,
        "sort_order": 3,
        "description": "Materi lengkap plus dua sesi mentoring daring.",
        "features": ["Semua isi Pro", "2 sesi mentoring 1-on-1", "Review film oleh mentor"],
    },
]
