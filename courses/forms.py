from django import forms


class LoginLinkForm(forms.Form):
    email = forms.EmailField(
        label="Email",
        max_length=254,
        help_text="Email yang kamu pakai saat membeli kursus.",
        error_messages={
            "required": "Isi email kamu dulu, ya.",
            "invalid": "Format email belum benar, contoh: nama@gmail.com.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()
