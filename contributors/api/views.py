from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from contributors.models import Contributor


class ContributorSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    trust_level_name = serializers.CharField(source="get_trust_level_display", read_only=True)

    class Meta:
        model = Contributor
        fields = ["id", "username", "trust_level", "trust_level_name", "points", "created_at"]
        read_only_fields = fields


class Me(APIView):
    """The contributor behind the token or session: handy to check that a token works."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ContributorSerializer)
    def get(self, request):
        # A staff account made with createsuperuser has no contributor until its first write.
        contributor = request.contributor or Contributor(user=request.user)
        return Response(ContributorSerializer(contributor).data)
