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

LESSONS = [
    ("pengenalan", "Pengenalan: film pendek di era AI", "Apa yang bisa dan belum bisa AI lakukan."),
    ("naskah", "Menulis naskah bersama AI", "Dari premis ke naskah tiga babak."),
    ("storyboard", "Storyboard dan gaya visual", "Menyusun adegan dan menjaga konsistensi."),
    ("visual", "Membuat visual dan klip video", "Prompt, iterasi, dan memilih hasil terbaik."),
    ("suara", "Suara, dubbing, dan musik", "Narasi, dialog, efek suara, dan skor musik."),
    ("editing", "Editing dan rilis", "Menyunting, memberi teks, dan mengunggah filmmu."),
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
