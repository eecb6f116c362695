from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views.generic import FormView, TemplateView, View

from core.ratelimits import rate_limit
from core.views import DomainErrorPageMixin
from donations.models import Image

from .forms import ApiTokenForm, SignUpForm
from .identity import log_in
from .services import api_token_create, api_token_revoke


class SignUpView(DomainErrorPageMixin, FormView):
    template_name = "registration/signup.html"
    form_class = SignUpForm
    success_url = reverse_lazy("profile")

    def post(self, request, *args, **kwargs):
        rate_limit(request, "signup")
        return super().post(request, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("profile")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.save()
        log_in(self.request, user)
        messages.success(self.request, f"Welcome, {user.get_username()}! Your account is ready.")
        return super().form_valid(form)


class LogInView(DomainErrorPageMixin, auth_views.LoginView):
    """Django's log-in, plus carrying over the visitor's anonymous contributions."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        rate_limit(request, "login")  # every attempt counts, so passwords cannot be guessed fast
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        log_in(self.request, form.get_user())
        return HttpResponseRedirect(self.get_success_url())


class ProfileView(LoginRequiredMixin, TemplateView):
    """The account page: trust level, contributions and API tokens (created here by POST)."""

    template_name = "contributors/profile.html"

    def get_context_data(self, **kwargs):
        contributor = self.request.contributor
        kwargs.setdefault("token_form", ApiTokenForm())
        return super().get_context_data(
            contributor=contributor,
            donation_count=Image.objects.donated_by(contributor).count(),
            tokens=self.request.user.api_tokens.all(),
            **kwargs,
        )

    def post(self, request):
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(token_form=form), status=400)
        token, key = api_token_create(user=request.user, name=form.cleaned_data["name"])
        # Shown once, in this response only: neither the database nor the session keeps it.
        new_token = {"id": token.pk, "name": token.name, "key": key}
        return self.render_to_response(self.get_context_data(new_token=new_token), status=201)


class ApiTokenRevokeView(LoginRequiredMixin, View):
    def post(self, request, token_id):
        if api_token_revoke(user=request.user, token_id=token_id):
            messages.success(request, "The token was revoked; requests using it are now refused.")
        else:
            messages.error(request, "No active token of yours has that id.")
        return redirect("profile")
