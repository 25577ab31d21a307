from django.urls import path

from agents import views

urlpatterns = [
    path("agents", views.AgentListCreateView.as_view(), name="agents"),
    path("agents/overview", views.AgentOverviewView.as_view(), name="agents-overview"),
    path("agents/me", views.AgentMeView.as_view(), name="agents-me"),
    path("agents/<uuid:agent_id>", views.AgentDetailView.as_view(), name="agent-detail"),
    path("agents/<uuid:agent_id>/clone", views.AgentCloneView.as_view(), name="agent-clone"),
    path("agents/<uuid:agent_id>/reset", views.AgentResetView.as_view(), name="agent-reset"),
    path("agents/<uuid:agent_id>/archive", views.AgentArchiveView.as_view(), name="agent-archive"),
    path("agents/<uuid:agent_id>/regenerate-key", views.AgentRegenerateKeyView.as_view(),
         name="agent-regenerate-key"),
    path("agents/<uuid:agent_id>/risk-profile", views.AgentRiskProfileView.as_view(), name="agent-risk-profile"),
    path("agents/<uuid:agent_id>/keys", views.AgentKeysView.as_view(), name="agent-keys"),
    path("agents/<uuid:agent_id>/keys/<uuid:key_id>", views.AgentKeyDetailView.as_view(), name="agent-key-detail"),
    path("agents/<uuid:agent_id>/skill.md", views.AgentSkillView.as_view(), name="agent-skill"),
]
