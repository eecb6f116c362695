from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views.generic import FormView, TemplateView, View

from core.ratelimits import rate_limit
from core.views import DomainErrorPageMixin

from .contributions import contribution_counts
from .forms import ApiTokenForm, SignUpForm
from .identity import log_in
from .services import (
    api_token_create,
    api_token_revoke,
    login_failures_forget,
    login_failures_key,
)


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
        # An account that failed too often takes no attempts at all for a while, even with the
        # right password: answering it would tell a distributed guesser when they hit.
        rate_limit(request, "login_failure", key=self._account_key(), count=False)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        log_in(self.request, form.get_user())
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form):
        rate_limit(self.request, "login_failure", key=self._account_key())
        return super().form_invalid(form)

    def _account_key(self) -> str:
        return login_failures_key(self.request.POST.get("username", ""))


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset confirmation; a reset also lifts the failed-log-in limit of the account."""

    def form_valid(self, form):
        login_failures_forget(username=form.user.get_username())
        return super().form_valid(form)


# A new token's key between the POST that made it and the page that shows it once.
NEW_KEY_SESSION_ENTRY = "new_api_token"


class ProfileView(LoginRequiredMixin, TemplateView):
    """The account page: trust level, contributions and API tokens (created here by POST)."""

    template_name = "contributors/profile.html"

    def get_context_data(self, **kwargs):
        contributor = self.request.contributor
        kwargs.setdefault("token_form", ApiTokenForm())
        return super().get_context_data(
            contributor=contributor,
            contributions=contribution_counts(contributor),
            # Shown on this page only: taken out of the session as it is read.
            new_token=self.request.session.pop(NEW_KEY_SESSION_ENTRY, None),
            tokens=self.request.user.api_tokens.all(),
            **kwargs,
        )

    def post(self, request):
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(token_form=form), status=400)
        token, key = api_token_create(user=request.user, name=form.cleaned_data["name"])
        # Redirected, so reloading the page cannot create a second token. The database keeps
        # only a digest; the session keeps the key until the next page has shown it.
        request.session[NEW_KEY_SESSION_ENTRY] = {"id": token.pk, "name": token.name, "key": key}
        return redirect("profile")


class ApiTokenRevokeView(LoginRequiredMixin, View):
    def post(self, request, token_id):
        if api_token_revoke(user=request.user, token_id=token_id):
            messages.success(request, "The token was revoked; requests using it are now refused.")
        else:
            messages.error(request, "No active token of yours has that id.")
        return redirect("profile")
